{
  "targets": [
    {
      "target_name": "ranged_mmap",
      "sources": [
        "native/addon.c",
        "native/mapping_table.c",
        "native/mmapio_ops.c",
        "native/fault_guard.c",
        "native/file_ops.c",
        "native/sync_ops.c",
        "native/sys_errors.c",
        "native/wait_ops.c"
      ],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
