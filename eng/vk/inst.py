"""Book ch.1 (vkInstance.zig): the Vulkan instance, validation layers and the debug messenger."""

import logging
import os
import sys
from typing import Any

import vulkan as vk

from eng.vk.util import VulkanError, cleanup_on_error

log = logging.getLogger("eng.vk")
vlog = logging.getLogger("eng.vk.validation")

VALIDATION_LAYER = "VK_LAYER_KHRONOS_validation"
PORTABILITY_EXT = "VK_KHR_portability_enumeration"
DEBUG_UTILS_EXT = "VK_EXT_debug_utils"
API_VERSION = vk.VK_MAKE_VERSION(1, 3, 0)

_SEVERITY = vk.VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | (
    vk.VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT
)
_TYPES = (
    vk.VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT
    | vk.VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT
    | vk.VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT
)

# Validation features beyond the defaults: name -> VkValidationFeatureEnableEXT
VALIDATION_FEATURES = {
    "sync": vk.VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT,
    "best-practices": vk.VK_VALIDATION_FEATURE_ENABLE_BEST_PRACTICES_EXT,
    "gpu-assisted": vk.VK_VALIDATION_FEATURE_ENABLE_GPU_ASSISTED_EXT,
}


def instance_extensions() -> set[str]:
    try:
        return {e.extensionName for e in vk.vkEnumerateInstanceExtensionProperties(None)}
    except vk.VkError as exc:  # a broken driver manifest makes the loader fail here
        raise VulkanError(
            f"the Vulkan loader cannot list instance extensions ({type(exc).__name__}); "
            f"{_manifest_hint()}"
        ) from None


def instance_layers() -> set[str]:
    try:
        return {layer.layerName for layer in vk.vkEnumerateInstanceLayerProperties()}
    except vk.VkError as exc:
        raise VulkanError(
            f"the Vulkan loader cannot list layers ({type(exc).__name__}); {_manifest_hint()}"
        ) from None


def _manifest_vars() -> list[str]:
    """The loader's manifest variables that are set, as NAME=value."""
    names = ("VK_DRIVER_FILES", "VK_ICD_FILENAMES", "VK_ADD_DRIVER_FILES", "VK_LAYER_PATH")
    return [f"{n}={os.environ[n]}" for n in names if os.environ.get(n)]


def _manifest_hint() -> str:
    """What to check when the loader fails: the manifest variables if set, else the driver."""
    set_vars = _manifest_vars()
    if set_vars:
        return f"check the manifest file(s) named by {', '.join(set_vars)}"
    return f"the installed driver manifests may be broken; {vulkan_missing_hint()}"


def _c_str(value: Any) -> str:
    """A char* field of a callback struct as str (the `vulkan` package often hands over str)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if value == vk.ffi.NULL:
        return ""
    return vk.ffi.string(value).decode(errors="replace")


class ValidationLog:
    """Collects the messages (warnings and errors) of the validation layers.

    `messages[i]` is the text of a message and `message_ids[i]` its id (such as
    "VUID-vkCmdDraw-None-02699" or "UNASSIGNED-BestPractices-..."), so tests can accept
    named messages one by one.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.message_ids: list[str] = []

    def callback(self, severity: int, types: int, data: Any, user_data: Any) -> int:
        text = _c_str(data.pMessage)
        self.messages.append(text)
        self.message_ids.append(_c_str(data.pMessageIdName))
        if severity & vk.VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT:
            vlog.error(text)
        else:
            vlog.warning(text)
        return vk.VK_FALSE


class VkInstance:
    """Owns the VkInstance and, with validation, the debug messenger."""

    def __init__(self, validation_log: ValidationLog | None, debug_utils: bool) -> None:
        self.instance = None
        self.messenger = None
        self.validation_log = validation_log
        self.debug_utils = debug_utils
        self.extensions: list[str] = []  # the instance extensions enabled

    @classmethod
    def create(
        cls, validation: bool, extensions: list[str], features: tuple[str, ...] = ()
    ) -> "VkInstance":
        available = instance_extensions()
        exts = list(dict.fromkeys(extensions))
        missing = [e for e in exts if e not in available]
        if missing:
            raise VulkanError(f"the Vulkan driver lacks instance extension(s) {', '.join(missing)}")
        layers = []
        if validation:
            if VALIDATION_LAYER in instance_layers():
                layers.append(VALIDATION_LAYER)
            else:
                log.warning(
                    "validation requested but %s is not installed (Debian: apt-get install "
                    "vulkan-validationlayers); running without it",
                    VALIDATION_LAYER,
                )
                validation = False
        # object names are for the validation messages: enable debug utils only with them
        debug_utils = validation and DEBUG_UTILS_EXT in available
        if debug_utils:
            exts.append(DEBUG_UTILS_EXT)
        flags = 0
        if PORTABILITY_EXT in available:  # MoltenVK and other portability drivers
            exts.append(PORTABILITY_EXT)
            flags |= vk.VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR

        validation_log = ValidationLog()
        messenger_info = None
        p_next = None
        if validation:
            messenger_info = vk.VkDebugUtilsMessengerCreateInfoEXT(
                sType=vk.VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
                messageSeverity=_SEVERITY,
                messageType=_TYPES,
                pfnUserCallback=validation_log.callback,
            )
            p_next = messenger_info
            if features:
                enables = [VALIDATION_FEATURES[f] for f in features]
                p_next = vk.VkValidationFeaturesEXT(
                    sType=vk.VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                    pNext=messenger_info,
                    enabledValidationFeatureCount=len(enables),
                    pEnabledValidationFeatures=enables,
                )
        app_info = vk.VkApplicationInfo(
            sType=vk.VK_STRUCTURE_TYPE_APPLICATION_INFO,
            pApplicationName="zvk-py",
            applicationVersion=vk.VK_MAKE_VERSION(1, 0, 0),
            pEngineName="zvk-py",
            engineVersion=vk.VK_MAKE_VERSION(1, 0, 0),
            apiVersion=API_VERSION,
        )
        create_info = vk.VkInstanceCreateInfo(
            sType=vk.VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
            pNext=p_next,
            flags=flags,
            pApplicationInfo=app_info,
            enabledLayerCount=len(layers),
            ppEnabledLayerNames=layers,
            enabledExtensionCount=len(exts),
            ppEnabledExtensionNames=exts,
        )
        with cleanup_on_error(cls(validation_log if validation else None, debug_utils)) as inst:
            try:
                inst.instance = vk.vkCreateInstance(create_info, None)
            except vk.VkErrorIncompatibleDriver as exc:
                named = _manifest_vars()  # a broken manifest is skipped by loaders 1.4
                check = f", or check {', '.join(named)}" if named else ""
                raise VulkanError(
                    "no Vulkan driver found: the Vulkan loader has no usable driver (ICD) for "
                    f"Vulkan 1.3; {vulkan_missing_hint()}{check}"
                ) from exc
            except vk.VkError as exc:
                raise VulkanError(
                    f"could not create a Vulkan instance ({type(exc).__name__})"
                ) from exc
            inst.extensions = exts
            if validation:
                create = inst.proc("vkCreateDebugUtilsMessengerEXT")
                inst.messenger = create(inst.instance, messenger_info, None)
            log.debug("instance created: validation=%s extensions=%s", validation, exts)
            return inst

    def proc(self, name: str) -> Any:
        return vk.vkGetInstanceProcAddr(self.instance, name)

    def cleanup(self) -> None:
        messenger, self.messenger = self.messenger, None  # dropped first: destroyed once
        if messenger is not None:
            self.proc("vkDestroyDebugUtilsMessengerEXT")(self.instance, messenger, None)
        instance, self.instance = self.instance, None
        if instance is not None:
            vk.vkDestroyInstance(instance, None)


def vulkan_missing_hint() -> str:
    if sys.platform == "darwin":
        return "install MoltenVK (the LunarG Vulkan SDK)"
    return "install a Vulkan driver (Debian: apt-get install libvulkan1 mesa-vulkan-drivers)"
