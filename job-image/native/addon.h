/* The job's native addon (addon.c): each part adds its functions to the module's exports. */
#ifndef KUBE_RESTORE_ADDON_H
#define KUBE_RESTORE_ADDON_H
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

/* checksums.c: `accelerated`, and `crc64nvme` and `crc32c` where the CPU has their instructions. */
bool register_checksums(napi_env env, napi_value exports);
/* smallFiles.c: `writeFileIn`. */
bool register_small_files(napi_env env, napi_value exports);

#endif
