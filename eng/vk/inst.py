"""Book ch.1 (vkInstance.zig): the Vulkan instance, validation layers and the debug messenger
(the layer check and the messages: eng/vk/validation.py; the loader's offer: eng/vk/loader.py)."""

import logging
from typing import Any

import vulkan as vk

from eng.com.interrupts import teardown
from eng.vk.errors import VulkanError, cleanup_on_error, vk_errors
from eng.vk.loader import instance_extensions, no_driver_error
from eng.vk.validation import ValidationLog, validation_layers

log = logging.getLogger("eng.vk")

PORTABILITY_EXT = "VK_KHR_portability_enumeration"
DEBUG_UTILS_EXT = "VK_EXT_debug_utils"
API_VERSION = vk.VK_MAKE_VERSION(1, 3, 0)


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
        """`features` name VALIDATION_FEATURES (eng/vk/validation.py) to enable."""
        available = instance_extensions()
        exts = list(dict.fromkeys(extensions))
        missing = [e for e in exts if e not in available]
        if missing:
            raise VulkanError(f"the Vulkan driver lacks instance extension(s) {', '.join(missing)}")
        layers = validation_layers(validation)
        validation = bool(layers)  # running without it when the layer is not installed
        # object names are for the validation messages: enable debug utils only with them
        debug_utils = validation and DEBUG_UTILS_EXT in available
        if debug_utils:
            exts.append(DEBUG_UTILS_EXT)
        flags = 0
        if PORTABILITY_EXT in available:  # MoltenVK and other portability drivers
            exts.append(PORTABILITY_EXT)
            flags |= vk.VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR

        validation_log = ValidationLog()
        messenger_info, p_next = (
            validation_log.messenger_info(features) if validation else (None, None)
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
                raise no_driver_error() from exc
            inst.extensions = exts
            if validation:
                create = inst.proc("vkCreateDebugUtilsMessengerEXT")
                inst.messenger = create(inst.instance, messenger_info, None)
            log.debug("instance created: validation=%s extensions=%s", validation, exts)
            return inst

    def proc(self, name: str) -> Any:
        with vk_errors(f"looking up {name}"):
            return vk.vkGetInstanceProcAddr(self.instance, name)

    @teardown
    def cleanup(self) -> None:
        messenger, self.messenger = self.messenger, None  # dropped first: destroyed once
        if messenger is not None:
            self.proc("vkDestroyDebugUtilsMessengerEXT")(self.instance, messenger, None)
        instance, self.instance = self.instance, None
        if instance is not None:
            vk.vkDestroyInstance(instance, None)
