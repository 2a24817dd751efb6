"""Book ch.2 (vkPhysDevice.zig): choosing the GPU and its queue families."""

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.vk.errors import VulkanError, vk_errors

if TYPE_CHECKING:
    from eng.vk.inst import VkInstance
    from eng.vk.surf import VkSurface

log = logging.getLogger("eng.vk")

SWAPCHAIN_EXT = "VK_KHR_swapchain"
_TYPE_RANK = {
    vk.VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: 0,
    vk.VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: 1,
    vk.VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: 2,
    vk.VK_PHYSICAL_DEVICE_TYPE_CPU: 3,
}
TYPE_NAMES = {
    vk.VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: "discrete GPU",
    vk.VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: "integrated GPU",
    vk.VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: "virtual GPU",
    vk.VK_PHYSICAL_DEVICE_TYPE_CPU: "CPU",
}


def version_str(v: int) -> str:
    return f"{vk.VK_VERSION_MAJOR(v)}.{vk.VK_VERSION_MINOR(v)}.{vk.VK_VERSION_PATCH(v)}"


@dataclass(frozen=True, slots=True)
class QueuesInfo:
    graphics_family: int
    present_family: int


class VkPhysDevice:
    """A physical device with what the engine reads of it: properties, features, queues."""

    def __init__(
        self,
        pdev: Any,
        props: Any,
        features: Any,
        queues_info: QueuesInfo,
        extensions: set[str],
        mem_props: Any,
    ) -> None:
        self.pdev = pdev
        self.props = props
        self.name: str = props.deviceName
        self.features = features
        self.queues_info: QueuesInfo = queues_info
        self.extensions: set[str] = extensions
        self.mem_props = mem_props
        self.limits = props.limits

    @property
    def anisotropy(self) -> bool:
        return bool(self.features.samplerAnisotropy)

    @property
    def max_texture_size(self) -> int:
        """The widest and tallest image the device can sample (maxImageDimension2D)."""
        return self.limits.maxImageDimension2D

    @property
    def max_target_size(self) -> tuple[int, int]:
        """The largest width and height the device can render into: its image, framebuffer
        and viewport limits."""
        limits = self.limits
        viewport = limits.maxViewportDimensions
        return (
            min(limits.maxImageDimension2D, limits.maxFramebufferWidth, viewport[0]),
            min(limits.maxImageDimension2D, limits.maxFramebufferHeight, viewport[1]),
        )

    @staticmethod
    def _missing(
        instance: "VkInstance", pdev: Any, surface: "VkSurface | None", props: Any
    ) -> tuple[str | None, tuple[int, int] | None, set[str]]:
        """What the device lacks for the engine (or None) and its queue families."""
        if props.apiVersion < vk.VK_MAKE_VERSION(1, 3, 0):
            return f"Vulkan 1.3 (it has {version_str(props.apiVersion)})", None, set()
        exts = {e.extensionName for e in vk.vkEnumerateDeviceExtensionProperties(pdev, None)}
        f13 = vk.VkPhysicalDeviceVulkan13Features(
            sType=vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES
        )
        f2 = vk.VkPhysicalDeviceFeatures2(
            sType=vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, pNext=f13
        )
        vk.vkGetPhysicalDeviceFeatures2(pdev, f2)
        if not f13.dynamicRendering:
            return "the dynamicRendering feature", None, exts
        if not f13.synchronization2:
            return "the synchronization2 feature", None, exts
        families = vk.vkGetPhysicalDeviceQueueFamilyProperties(pdev)
        graphics = next(
            (i for i, f in enumerate(families) if f.queueFlags & vk.VK_QUEUE_GRAPHICS_BIT), None
        )
        if graphics is None:
            return "a graphics queue", None, exts
        present = graphics
        if surface is not None:
            if SWAPCHAIN_EXT not in exts:
                return f"the {SWAPCHAIN_EXT} extension", None, exts
            supports = instance.proc("vkGetPhysicalDeviceSurfaceSupportKHR")
            present_families = [
                i for i in range(len(families)) if supports(pdev, i, surface.surface)
            ]
            if not present_families:
                return "a queue that can present to the window", None, exts
            present = graphics if graphics in present_families else present_families[0]
        return None, (graphics, present), exts

    @classmethod
    @vk_errors("choosing the GPU")
    def create(
        cls, instance: "VkInstance", gpu: str | int, surface: "VkSurface | None" = None
    ) -> "VkPhysDevice":
        """The device named `gpu` (case-insensitive substring), or of index `gpu` in the order
        of `list_devices` (not in the book), else the best suitable.

        Book: an exact name match first, then discrete GPUs; we also accept a substring and
        warn, naming the device used, when the wanted one is absent or unsuitable.
        """
        devices = vk.vkEnumeratePhysicalDevices(instance.instance)
        if not devices:
            raise VulkanError("no Vulkan device found (is a Vulkan driver installed?)")
        if isinstance(gpu, int) and not 0 <= gpu < len(devices):
            raise VulkanError(f"no GPU of index {gpu}: there are {len(devices)} (see --list-gpus)")
        suitable = []
        reasons = []
        for index, pdev in enumerate(devices):
            props = vk.vkGetPhysicalDeviceProperties(pdev)
            missing, families, exts = cls._missing(instance, pdev, surface, props)
            if missing:
                reasons.append(f"{props.deviceName} lacks {missing}")
                continue
            assert families is not None  # _missing returns them when nothing is missing
            suitable.append((index, pdev, props, families, exts))
        if not suitable:
            raise VulkanError("no suitable Vulkan device: " + "; ".join(reasons))
        wanted = gpu.lower() if isinstance(gpu, str) else None
        matches = [
            s for s in suitable if s[0] == gpu or wanted and wanted in s[2].deviceName.lower()
        ]
        if matches:
            chosen = min(matches, key=lambda s: s[2].deviceName.lower() != wanted)
        else:
            chosen = min(suitable, key=lambda s: _TYPE_RANK.get(s[2].deviceType, 9))
            if gpu != "":
                log.warning(
                    "GPU '%s' not found or not suitable; using '%s' (see --list-gpus)",
                    gpu,
                    chosen[2].deviceName,
                )
        _, pdev, props, (graphics, present), exts = chosen
        features = vk.vkGetPhysicalDeviceFeatures(pdev)
        mem_props = vk.vkGetPhysicalDeviceMemoryProperties(pdev)
        log.info("using device '%s' (%s)", props.deviceName, TYPE_NAMES.get(props.deviceType))
        return cls(pdev, props, features, QueuesInfo(graphics, present), exts, mem_props)


def _driver(pdev: Any, props: Any) -> str:
    """The driver's name and version as it reports them (Vulkan 1.2), else its version number
    decoded (NVIDIA packs it in its own way)."""
    driver = vk.VkPhysicalDeviceDriverProperties(
        sType=vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES
    )
    props2 = vk.VkPhysicalDeviceProperties2(
        sType=vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, pNext=driver
    )
    vk.vkGetPhysicalDeviceProperties2(pdev, props2)
    named = (
        f"{vk.ffi.string(driver.driverName).decode()} {vk.ffi.string(driver.driverInfo).decode()}"
    )
    if named.strip():
        return named.strip()
    v = props.driverVersion
    if props.vendorID == 0x10DE:  # NVIDIA: 10.8.8.6 bits
        return f"{v >> 22}.{v >> 14 & 0xFF}.{v >> 6 & 0xFF}.{v & 0x3F}"
    return version_str(v)


@vk_errors("listing the GPUs")
def list_devices(instance: "VkInstance") -> list[str]:
    """One line per physical device, by the index `--gpu` takes: name, type, device-local
    memory, driver and Vulkan version."""
    lines = []
    for index, pdev in enumerate(vk.vkEnumeratePhysicalDevices(instance.instance)):
        props = vk.vkGetPhysicalDeviceProperties(pdev)
        memory = vk.vkGetPhysicalDeviceMemoryProperties(pdev)
        heaps = [memory.memoryHeaps[i] for i in range(memory.memoryHeapCount)]
        local = sum(h.size for h in heaps if h.flags & vk.VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
        lines.append(
            f"{index}: {props.deviceName} ({TYPE_NAMES.get(props.deviceType, 'other')}, "
            f"{local / 2**30:.1f} GiB device-local memory, driver {_driver(pdev, props)}, "
            f"Vulkan {version_str(props.apiVersion)})"
        )
    return lines
