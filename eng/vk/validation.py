"""The validation layers (the book's vkInstance.zig only enables the layer): the layer check,
the debug messenger's ValidationLog that collects their messages, and the optional
validation features (--validation-features)."""

import logging
from typing import Any

import vulkan as vk

from eng.vk import loader

log = logging.getLogger("eng.vk")
vlog = logging.getLogger("eng.vk.validation")

VALIDATION_LAYER = "VK_LAYER_KHRONOS_validation"

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


def validation_layers(requested: bool) -> list[str]:
    """The layers to enable: the validation layer if requested and installed (a warning, and
    none, when it is not)."""
    if not requested:
        return []
    if VALIDATION_LAYER in loader.instance_layers():
        return [VALIDATION_LAYER]
    log.warning(
        "validation requested but %s is not installed (Debian: apt-get install "
        "vulkan-validationlayers); running without it",
        VALIDATION_LAYER,
    )
    return []


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


# Best-practices validation warns that VK_EXT_debug_utils is a debugging extension; we enable
# it only together with the layers, because their messenger and object names need it. The
# warning (by its id; layers 1.4 name it without UNASSIGNED-) is about ourselves, on every run.
_OWN_DEBUG_EXTENSION = {
    "UNASSIGNED-BestPractices-vkCreateInstance-specialuse-extension-debugging",
    "BestPractices-specialuse-extension",
}


class ValidationLog:
    """Collects the messages (warnings and errors) of the validation layers.

    `messages[i]` is the text of a message and `message_ids[i]` its id (such as
    "VUID-vkCmdDraw-None-02699" or "UNASSIGNED-BestPractices-..."), so tests can accept
    named messages one by one.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.message_ids: list[str] = []
        self.filtered_ids: list[str] = []  # ids of the messages about ourselves, not shown

    def callback(self, severity: int, types: int, data: Any, user_data: Any) -> int:
        text = _c_str(data.pMessage)
        message_id = _c_str(data.pMessageIdName)
        if message_id in _OWN_DEBUG_EXTENSION and "VK_EXT_debug_utils" in text:
            self.filtered_ids.append(message_id)
            return vk.VK_FALSE
        self.messages.append(text)
        self.message_ids.append(message_id)
        if severity & vk.VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT:
            vlog.error(text)
        else:
            vlog.warning(text)
        return vk.VK_FALSE

    def messenger_info(self, features: tuple[str, ...] = ()) -> tuple[Any, Any]:
        """The debug messenger's create info that calls `callback`, and the pNext chain for
        VkInstanceCreateInfo: that info, behind a VkValidationFeaturesEXT for `features`."""
        info = vk.VkDebugUtilsMessengerCreateInfoEXT(
            sType=vk.VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
            messageSeverity=_SEVERITY,
            messageType=_TYPES,
            pfnUserCallback=self.callback,
        )
        if not features:
            return info, info
        enables = [VALIDATION_FEATURES[f] for f in features]
        chain = vk.VkValidationFeaturesEXT(
            sType=vk.VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
            pNext=info,
            enabledValidationFeatureCount=len(enables),
            pEnabledValidationFeatures=enables,
        )
        return info, chain
