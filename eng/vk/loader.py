"""What the Vulkan loader offers (instance extensions and layers), and what to tell the user
when it has no driver or a broken driver manifest (not in the book: vkInstance.zig takes the
extensions from SDL and lets a failure end the program)."""

import os
import sys

import vulkan as vk

from eng.vk.errors import VulkanError


def instance_extensions() -> set[str]:
    try:
        return {e.extensionName for e in vk.vkEnumerateInstanceExtensionProperties(None)}
    except vk.VkError as exc:  # a broken driver manifest makes the loader fail here
        raise VulkanError(
            f"the Vulkan loader cannot list instance extensions ({type(exc).__name__}); "
            f"{manifest_hint()}"
        ) from None


def instance_layers() -> set[str]:
    try:
        return {layer.layerName for layer in vk.vkEnumerateInstanceLayerProperties()}
    except vk.VkError as exc:
        raise VulkanError(
            f"the Vulkan loader cannot list layers ({type(exc).__name__}); {manifest_hint()}"
        ) from None


def manifest_vars() -> list[str]:
    """The loader's manifest variables that are set, as NAME=value."""
    names = ("VK_DRIVER_FILES", "VK_ICD_FILENAMES", "VK_ADD_DRIVER_FILES", "VK_LAYER_PATH")
    return [f"{n}={os.environ[n]}" for n in names if os.environ.get(n)]


def manifest_hint() -> str:
    """What to check when the loader fails: the manifest variables if set, else the driver."""
    set_vars = manifest_vars()
    if set_vars:
        return f"check the manifest file(s) named by {', '.join(set_vars)}"
    return f"the installed driver manifests may be broken; {vulkan_missing_hint()}"


def no_driver_error() -> VulkanError:
    """vkCreateInstance's VK_ERROR_INCOMPATIBLE_DRIVER: the loader found no usable driver."""
    named = manifest_vars()  # a broken manifest is skipped by loaders 1.4
    check = f", or check {', '.join(named)}" if named else ""
    return VulkanError(
        "no Vulkan driver found: the Vulkan loader has no usable driver (ICD) for "
        f"Vulkan 1.3; {vulkan_missing_hint()}{check}"
    )


def vulkan_missing_hint() -> str:
    if sys.platform == "darwin":
        return "install MoltenVK (the LunarG Vulkan SDK)"
    return "install a Vulkan driver (Debian: apt-get install libvulkan1 mesa-vulkan-drivers)"
