{
  "targets": [
    {
      "target_name": "ranged_mmap",
      "sources": [
        "addon.c",
        "attachments.c",
        "async_queue.c",
        "bind_mapping.c",
        "napi_args.c",
        "mapping_table.c",
        "map_areas.c",
        "mmapio_ops.c",
        "fault_guard.c",
        "file_ops.c",
        "sync_ops.c",
        "sys_errors.c",
        "ring.c",
        "bind_ring.c",
        "vmap_map.c",
        "bind_vmap.c",
        "shared_ring.c",
        "bind_shared_ring.c",
        "wait_ops.c",
        "batch_ops.c",
        "platform/linux.c"
      ],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
