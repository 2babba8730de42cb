{
  "targets": [
    {
      "target_name": "ranged_mmap",
      "sources": [
        "native/addon.c",
        "native/attachments.c",
        "native/async_queue.c",
        "native/bind_mapping.c",
        "native/napi_args.c",
        "native/mapping_table.c",
        "native/map_areas.c",
        "native/mmapio_ops.c",
        "native/fault_guard.c",
        "native/file_ops.c",
        "native/sync_ops.c",
        "native/sys_errors.c",
        "native/ring.c",
        "native/bind_ring.c",
        "native/vmap_map.c",
        "native/bind_vmap.c",
        "native/shared_ring.c",
        "native/bind_shared_ring.c",
        "native/wait_ops.c",
        "native/platform/linux.c"
      ],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
