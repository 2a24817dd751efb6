"""Book ch.2 (vkDevice.zig): the logical device with dynamic rendering and synchronization2."""

import logging
from typing import TYPE_CHECKING, Any

import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk.errors import check, cleanup_on_error, vk_errors
from eng.vk.phys import SWAPCHAIN_EXT, VkPhysDevice
from eng.vk.util import vk_int

if TYPE_CHECKING:
    from eng.vk.inst import VkInstance

log = logging.getLogger("eng.vk")


class VkDevice:
    """Owns the VkDevice; names objects for the validation layers when debug utils is on."""

    def __init__(self, set_name_fn: Any, enabled: frozenset[str] = frozenset()) -> None:
        self.device = None
        self._set_name = set_name_fn
        self.enabled = enabled  # the device extensions enabled

    @classmethod
    def create(
        cls,
        instance: "VkInstance",
        phys: VkPhysDevice,
        swapchain: bool,
        optional_extensions: tuple[str, ...] = (),
    ) -> "VkDevice":
        """`optional_extensions` (the extras' wishes, not the book's) are enabled where the
        physical device has them."""
        families = sorted({phys.queues_info.graphics_family, phys.queues_info.present_family})
        priorities = [vk.ffi.new("float[]", [1.0]) for _ in families]
        queue_infos = [
            vk.VkDeviceQueueCreateInfo(
                sType=vk.VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                queueFamilyIndex=family,
                queueCount=1,
                pQueuePriorities=prio,
            )
            for family, prio in zip(families, priorities, strict=True)
        ]
        exts = [SWAPCHAIN_EXT] if swapchain else []
        exts += [name for name in optional_extensions if name in phys.extensions]
        f13 = vk.VkPhysicalDeviceVulkan13Features(
            sType=vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
            dynamicRendering=vk.VK_TRUE,
            synchronization2=vk.VK_TRUE,
        )
        # the features in a VkPhysicalDeviceFeatures2 chain (not pEnabledFeatures), as
        # validation layers 1.4 expect when newer feature structs are chained
        features = vk.VkPhysicalDeviceFeatures2(
            sType=vk.VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
            pNext=f13,
            features=vk.VkPhysicalDeviceFeatures(
                samplerAnisotropy=phys.features.samplerAnisotropy,
                # the instanced draws' indirect commands start at their batch's matrices
                drawIndirectFirstInstance=phys.features.drawIndirectFirstInstance,
                pipelineStatisticsQuery=phys.features.pipelineStatisticsQuery,
            ),
        )
        create_info = vk.VkDeviceCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
            pNext=features,
            queueCreateInfoCount=len(queue_infos),
            pQueueCreateInfos=queue_infos,
            enabledExtensionCount=len(exts),
            ppEnabledExtensionNames=exts,
        )
        set_name = instance.proc("vkSetDebugUtilsObjectNameEXT") if instance.debug_utils else None
        with cleanup_on_error(cls(set_name, frozenset(exts))) as dev:
            dev.device = vk.vkCreateDevice(phys.pdev, create_info, None)
            dev.set_name(vk.VK_OBJECT_TYPE_DEVICE, dev.device, "zvk-py device")
            for family in families:  # VkQueue.create gets these same queues
                role = "graphics" if family == phys.queues_info.graphics_family else "present"
                queue = vk.vkGetDeviceQueue(dev.device, family, 0)
                dev.set_name(vk.VK_OBJECT_TYPE_QUEUE, queue, f"{role} queue (family {family})")
            return dev

    def set_name(self, object_type: int, handle: Any, name: str) -> None:
        """Gives a Vulkan object a debug name that validation messages then show."""
        if self._set_name is None or not name:
            return
        info = vk.VkDebugUtilsObjectNameInfoEXT(
            sType=vk.VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT,
            objectType=object_type,
            objectHandle=vk_int(handle),
            pObjectName=name,
        )
        with vk_errors(f"naming '{name}'"):
            self._set_name(self.device, info)

    def proc(self, name: str) -> Any:
        with vk_errors(f"looking up {name}"):
            return vk.vkGetDeviceProcAddr(self.device, name)

    def raw_proc(self, name: str) -> Any:
        """An extension function as a bare cffi function pointer (for the per-frame path)."""
        fn = vk.lib.vkGetDeviceProcAddr(self.device, name.encode())
        return vk.ffi.cast(f"PFN_{name}", fn)

    def wait(self) -> None:
        check(vk.lib.vkDeviceWaitIdle(self.device), "vkDeviceWaitIdle")

    @teardown
    def cleanup(self) -> None:
        device, self.device = self.device, None  # dropped first: destroyed once
        if device is not None:
            vk.vkDestroyDevice(device, None)
