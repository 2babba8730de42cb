/** How a MemoryMappedFile maps its file (mmap-io's `MmapMode`). */
export type MappingMode = 'ro' | 'rw' | 'cow';
