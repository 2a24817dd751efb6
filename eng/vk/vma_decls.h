/* The part of vk_mem_alloc.h (VMA 3.x) that the engine uses, as cffi declarations.
   Vulkan handles are the header's opaque pointers; eng/vk/vma.py converts them to and from the
   `vulkan` package's handles through their integer value. Structs end in "..." so that cffi
   takes their real layout from the header at build time. */
typedef uint64_t VkDeviceSize;
typedef uint32_t VkFlags;
typedef int... VkResult;
typedef int... VkStructureType;
typedef int... VkImageType;
typedef int... VkFormat;
typedef int... VkSampleCountFlagBits;
typedef int... VkImageTiling;
typedef int... VkSharingMode;
typedef int... VkImageLayout;
typedef struct VkInstance_T* VkInstance;
typedef struct VkPhysicalDevice_T* VkPhysicalDevice;
typedef struct VkDevice_T* VkDevice;
typedef struct VkBuffer_T* VkBuffer;
typedef struct VkImage_T* VkImage;
typedef struct VkDeviceMemory_T* VkDeviceMemory;
typedef struct VmaAllocator_T* VmaAllocator;
typedef struct VmaAllocation_T* VmaAllocation;
typedef struct VmaPool_T* VmaPool;
typedef struct VmaVulkanFunctions VmaVulkanFunctions;

typedef struct { uint32_t width; uint32_t height; uint32_t depth; } VkExtent3D;

typedef struct {
    VkStructureType sType; const void* pNext; VkFlags flags; VkDeviceSize size; VkFlags usage;
    VkSharingMode sharingMode; uint32_t queueFamilyIndexCount; const uint32_t* pQueueFamilyIndices;
    ...;
} VkBufferCreateInfo;

typedef struct {
    VkStructureType sType; const void* pNext; VkFlags flags; VkImageType imageType; VkFormat format;
    VkExtent3D extent; uint32_t mipLevels; uint32_t arrayLayers; VkSampleCountFlagBits samples;
    VkImageTiling tiling; VkFlags usage; VkSharingMode sharingMode; uint32_t queueFamilyIndexCount;
    const uint32_t* pQueueFamilyIndices; VkImageLayout initialLayout;
    ...;
} VkImageCreateInfo;

typedef int... VmaMemoryUsage;
#define VMA_MEMORY_USAGE_AUTO ...
#define VMA_MEMORY_USAGE_AUTO_PREFER_DEVICE ...
#define VMA_MEMORY_USAGE_AUTO_PREFER_HOST ...
#define VMA_ALLOCATION_CREATE_DEDICATED_MEMORY_BIT ...
#define VMA_ALLOCATION_CREATE_MAPPED_BIT ...
#define VMA_ALLOCATION_CREATE_HOST_ACCESS_SEQUENTIAL_WRITE_BIT ...
#define VMA_ALLOCATION_CREATE_HOST_ACCESS_RANDOM_BIT ...
#define VMA_ALLOCATOR_CREATE_EXT_MEMORY_BUDGET_BIT ...
#define VK_MAX_MEMORY_TYPES ...
#define VK_MAX_MEMORY_HEAPS ...

typedef struct {
    VkFlags flags; VkPhysicalDevice physicalDevice; VkDevice device;
    VkDeviceSize preferredLargeHeapBlockSize; const VmaVulkanFunctions* pVulkanFunctions;
    VkInstance instance; uint32_t vulkanApiVersion;
    ...;
} VmaAllocatorCreateInfo;

typedef struct {
    VkFlags flags; VmaMemoryUsage usage; VkFlags requiredFlags; VkFlags preferredFlags;
    uint32_t memoryTypeBits; VmaPool pool; void* pUserData; float priority;
    ...;
} VmaAllocationCreateInfo;

typedef struct {
    uint32_t memoryType; VkDeviceMemory deviceMemory; VkDeviceSize offset; VkDeviceSize size;
    void* pMappedData; void* pUserData; const char* pName;
    ...;
} VmaAllocationInfo;

typedef struct {
    uint32_t blockCount; uint32_t allocationCount; VkDeviceSize blockBytes; VkDeviceSize allocationBytes;
    ...;
} VmaStatistics;

typedef struct {
    VmaStatistics statistics; uint32_t unusedRangeCount;
    VkDeviceSize allocationSizeMin; VkDeviceSize allocationSizeMax;
    VkDeviceSize unusedRangeSizeMin; VkDeviceSize unusedRangeSizeMax;
    ...;
} VmaDetailedStatistics;

typedef struct {
    VmaDetailedStatistics memoryType[32]; VmaDetailedStatistics memoryHeap[16]; VmaDetailedStatistics total;
    ...;
} VmaTotalStatistics;

typedef struct { VmaStatistics statistics; VkDeviceSize usage; VkDeviceSize budget; ...; } VmaBudget;

VkResult vmaCreateAllocator(const VmaAllocatorCreateInfo* pCreateInfo, VmaAllocator* pAllocator);
void vmaDestroyAllocator(VmaAllocator allocator);
VkResult vmaCreateBuffer(VmaAllocator allocator, const VkBufferCreateInfo* pBufferCreateInfo,
                         const VmaAllocationCreateInfo* pAllocationCreateInfo, VkBuffer* pBuffer,
                         VmaAllocation* pAllocation, VmaAllocationInfo* pAllocationInfo);
void vmaDestroyBuffer(VmaAllocator allocator, VkBuffer buffer, VmaAllocation allocation);
VkResult vmaCreateImage(VmaAllocator allocator, const VkImageCreateInfo* pImageCreateInfo,
                        const VmaAllocationCreateInfo* pAllocationCreateInfo, VkImage* pImage,
                        VmaAllocation* pAllocation, VmaAllocationInfo* pAllocationInfo);
void vmaDestroyImage(VmaAllocator allocator, VkImage image, VmaAllocation allocation);
VkResult vmaMapMemory(VmaAllocator allocator, VmaAllocation allocation, void** ppData);
void vmaUnmapMemory(VmaAllocator allocator, VmaAllocation allocation);
VkResult vmaFlushAllocation(VmaAllocator allocator, VmaAllocation allocation, VkDeviceSize offset,
                            VkDeviceSize size);
VkResult vmaInvalidateAllocation(VmaAllocator allocator, VmaAllocation allocation,
                                 VkDeviceSize offset, VkDeviceSize size);
void vmaGetAllocationInfo(VmaAllocator allocator, VmaAllocation allocation, VmaAllocationInfo* pAllocationInfo);
void vmaSetAllocationName(VmaAllocator allocator, VmaAllocation allocation, const char* pName);
void vmaCalculateStatistics(VmaAllocator allocator, VmaTotalStatistics* pStats);
void vmaGetHeapBudgets(VmaAllocator allocator, VmaBudget* pBudgets);
void vmaBuildStatsString(VmaAllocator allocator, char** ppStatsString, uint32_t detailedMap);
void vmaFreeStatsString(VmaAllocator allocator, char* pStatsString);

/* Defined by _vma_build.py: VMA's function table filled from the Vulkan loader (as the book's
   vma.zig passes vkGetInstanceProcAddr / vkGetDeviceProcAddr). */
const VmaVulkanFunctions* zvkVulkanFunctions(void);

/* Defined by _vma_build.py: the VMA version and header path the extension was built from. */
const char* zvkVmaVersion(void);
