/*
 * The job's native addon, `native.node` beside the bundles: CRC-64/NVME and CRC-32C in the CPU's
 * instructions (checksums.c) and small files written in one trip through the thread pool
 * (smallFiles.c). Node-API only, so it builds against any Node's headers; src/nativeAddon.ts
 * loads it, and the job goes without it (WebAssembly CRCs, Node's own file calls) where it does not.
 */
#include "addon.h"

NAPI_MODULE_INIT() {
  if (!register_checksums(env, exports) || !register_small_files(env, exports)) return NULL;
  return exports;
}
