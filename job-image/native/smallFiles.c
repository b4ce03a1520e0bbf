/*
 * A small file written whole in one trip through libuv's thread pool, inside a directory held by
 * its descriptor: writeFileIn(dirFd, tempName, finalName, expectedDir, chunks, mode, setMode, uid,
 * gid, mtimeSec, mtimeNsec, fsync) returns a promise, and on a pool thread
 *
 *   openat(dirFd, tempName, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode), pwritev of the
 *   chunks, fchmod (setMode), fchown (uid or gid not -1), futimens (mtimeNsec not -1), fdatasync
 *   (fsync), close; the directory's real path (/proc/self/fd/dirFd) must still be expectedDir;
 *   renameat(dirFd, tempName, dirFd, finalName); its real path is read once more.
 *
 * Node's own calls take one trip through the pool each (eight a file), or hold the main thread for
 * all of them (src/writeFileAtomically.ts); here the main thread only starts the work and settles the
 * promise. The temporary is removed when a step after its create fails (never after a failed create:
 * the name may be another's). The promise rejects with an Error carrying `errno` and `syscall`
 * (a failed call), or `moved` ("before": the directory held is no longer expectedDir, nothing was
 * renamed; "after": it moved during the rename, which was done) and `real`, its real path then.
 * Arguments are checked on the calling thread: a name must be one path component, the chunks
 * Uint8Arrays (referenced until the promise settles); anything else is a TypeError.
 */
#define _GNU_SOURCE
#include "addon.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* At most this many chunks a file (Linux's IOV_MAX). */
#define MAX_CHUNKS 1024

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref *refs;
  uint32_t count;
  struct iovec *iov;
  int dir_fd;
  char temp_name[NAME_MAX + 1];
  char final_name[NAME_MAX + 1];
  char expected[PATH_MAX];
  mode_t mode;
  bool set_mode;
  int64_t uid, gid;
  bool set_mtime;
  struct timespec mtime;
  bool fsync;
  /* the outcome */
  int error;
  const char *syscall;
  const char *moved;
  char real[PATH_MAX];
} Write;

/* Whether the directory held is still `expected` (true when /proc cannot say). */
static bool still_expected(Write *w) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", w->dir_fd);
  ssize_t n = readlink(link, w->real, sizeof w->real - 1);
  if (n < 0) return true;
  w->real[n] = '\0';
  return strcmp(w->real, w->expected) == 0;
}

/*
 * The pool thread running a write makes itself SCHED_BATCH, once: a SCHED_BATCH thread that is
 * woken does not preempt the thread running (Linux's fair scheduler). On a node of two cores,
 * queueing a write woke a pool thread that took the core from the main thread while it wrote (the
 * main thread spent about 60 us in each call, bench/README.md); a batch thread runs on the other
 * core, or when the main thread waits. It keeps its fair share of the CPU; a refusal (a seccomp
 * profile) changes nothing else. Node's own work on the pool runs on the same threads after it.
 */
static void as_batch_thread(void) {
  static __thread bool done;
  if (done) return;
  done = true;
  struct sched_param param = {0};
  sched_setscheduler(0, SCHED_BATCH, &param);
}

#define FAIL(name)        \
  do {                    \
    w->error = errno;     \
    w->syscall = (name);  \
    goto failed;          \
  } while (0)

static void execute(napi_env env, void *data) {
  (void)env;
  Write *w = data;
  as_batch_thread();
  int fd = openat(w->dir_fd, w->temp_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  w->mode);
  if (fd < 0) {
    w->error = errno;
    w->syscall = "open";
    return;
  }
  struct iovec *iov = w->iov;
  int left = (int)w->count;
  off_t position = 0;
  while (left > 0 && iov->iov_len == 0) iov++, left--;
  while (left > 0) {
    ssize_t n = pwritev(fd, iov, left, position);
    if (n < 0) {
      if (errno == EINTR) continue;
      FAIL("write");
    }
    if (n == 0) {
      errno = EIO;
      FAIL("write");
    }
    position += n;
    while (left > 0 && (size_t)n >= iov->iov_len) n -= (ssize_t)iov->iov_len, iov++, left--;
    if (left > 0) iov->iov_base = (char *)iov->iov_base + n, iov->iov_len -= (size_t)n;
  }
  if (w->set_mode && fchmod(fd, w->mode) != 0) FAIL("fchmod");
  if ((w->uid != -1 || w->gid != -1) && fchown(fd, (uid_t)w->uid, (gid_t)w->gid) != 0)
    FAIL("fchown");
  if (w->set_mtime) {
    struct timespec times[2] = {w->mtime, w->mtime};
    if (futimens(fd, times) != 0) FAIL("futime");
  }
  if (w->fsync && fdatasync(fd) != 0) FAIL("fdatasync");
  int closing = fd;
  fd = -1;
  if (close(closing) != 0 && errno != EINTR) FAIL("close");
  if (!still_expected(w)) {
    w->moved = "before";
    goto failed;
  }
  if (renameat(w->dir_fd, w->temp_name, w->dir_fd, w->final_name) != 0) FAIL("rename");
  if (!still_expected(w)) w->moved = "after";
  return;
failed:
  if (fd >= 0) close(fd);
  unlinkat(w->dir_fd, w->temp_name, 0);
}

static void release(napi_env env, Write *w) {
  for (uint32_t i = 0; i < w->count; i++)
    if (w->refs[i]) napi_delete_reference(env, w->refs[i]);
  if (w->work) napi_delete_async_work(env, w->work);
  free(w->refs);
  free(w->iov);
  free(w);
}

static void complete(napi_env env, napi_status status, void *data) {
  Write *w = data;
  napi_value result = NULL, message, value;
  bool failed = status != napi_ok || w->error != 0 || w->moved != NULL;
  if (!failed) {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, w->deferred, result);
  } else if (napi_create_string_utf8(env, "writeFileIn failed", NAPI_AUTO_LENGTH, &message) ==
                 napi_ok &&
             napi_create_error(env, NULL, message, &result) == napi_ok) {
    if (status != napi_ok) {
      napi_create_string_utf8(env, "cancelled", NAPI_AUTO_LENGTH, &value);
      napi_set_named_property(env, result, "moved", value);
    } else if (w->error != 0) {
      napi_create_int32(env, w->error, &value);
      napi_set_named_property(env, result, "errno", value);
      napi_create_string_utf8(env, w->syscall, NAPI_AUTO_LENGTH, &value);
      napi_set_named_property(env, result, "syscall", value);
    } else {
      napi_create_string_utf8(env, w->moved, NAPI_AUTO_LENGTH, &value);
      napi_set_named_property(env, result, "moved", value);
      napi_create_string_utf8(env, w->real, NAPI_AUTO_LENGTH, &value);
      napi_set_named_property(env, result, "real", value);
    }
    napi_reject_deferred(env, w->deferred, result);
  } else {
    napi_get_undefined(env, &result);
    napi_reject_deferred(env, w->deferred, result);
  }
  release(env, w);
}

/* A string of at most `size - 1` bytes without NUL into `out`. */
static bool string_of(napi_env env, napi_value value, char *out, size_t size) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok || length >= size)
    return false;
  if (napi_get_value_string_utf8(env, value, out, size, &length) != napi_ok) return false;
  return strlen(out) == length;
}

/* One path component: not empty, ".", "..", nor with a slash. */
static bool name_of(napi_env env, napi_value value, char *out, size_t size) {
  return string_of(env, value, out, size) && out[0] != '\0' && strchr(out, '/') == NULL &&
         strcmp(out, ".") != 0 && strcmp(out, "..") != 0;
}

/* An integer number from `min` to `max`. */
static bool integer_of(napi_env env, napi_value value, double min, double max, int64_t *out) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok || !(number >= min && number <= max) ||
      number != (double)(int64_t)number)
    return false;
  *out = (int64_t)number;
  return true;
}

static bool chunks_of(napi_env env, napi_value value, Write *w) {
  bool is_array;
  uint32_t count;
  if (napi_is_array(env, value, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, value, &count) != napi_ok || count > MAX_CHUNKS)
    return false;
  w->refs = calloc(count ? count : 1, sizeof *w->refs);
  w->iov = calloc(count ? count : 1, sizeof *w->iov);
  if (!w->refs || !w->iov) return false;
  for (uint32_t i = 0; i < count; i++) {
    napi_value chunk, buffer;
    napi_typedarray_type type;
    size_t length, offset;
    void *base;
    if (napi_get_element(env, value, i, &chunk) != napi_ok ||
        napi_get_typedarray_info(env, chunk, &type, &length, &base, &buffer, &offset) != napi_ok ||
        type != napi_uint8_array || napi_create_reference(env, chunk, 1, &w->refs[i]) != napi_ok)
      return false;
    w->count = i + 1;
    w->iov[i].iov_base = base;
    w->iov[i].iov_len = length;
  }
  return true;
}

static napi_value WriteFileIn(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  Write *w = calloc(1, sizeof *w);
  int64_t dir_fd, mode, uid, gid, sec, nsec;
  bool set_mode, fsync;
  napi_value promise = NULL, name;
  if (!w) {
    napi_throw_error(env, NULL, "writeFileIn: out of memory");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 12 ||
      !integer_of(env, argv[0], 0, INT_MAX, &dir_fd) ||
      !name_of(env, argv[1], w->temp_name, sizeof w->temp_name) ||
      !name_of(env, argv[2], w->final_name, sizeof w->final_name) ||
      !string_of(env, argv[3], w->expected, sizeof w->expected) || w->expected[0] != '/' ||
      !chunks_of(env, argv[4], w) || !integer_of(env, argv[5], 0, 07777, &mode) ||
      napi_get_value_bool(env, argv[6], &set_mode) != napi_ok ||
      !integer_of(env, argv[7], -1, 4294967294.0, &uid) ||
      !integer_of(env, argv[8], -1, 4294967294.0, &gid) ||
      !integer_of(env, argv[9], -9007199254740991.0, 9007199254740991.0, &sec) ||
      !integer_of(env, argv[10], -1, 999999999, &nsec) ||
      napi_get_value_bool(env, argv[11], &fsync) != napi_ok) {
    release(env, w);
    napi_throw_type_error(env, NULL,
                          "writeFileIn(dirFd, tempName, finalName, expectedDir, chunks: Uint8Array[], "
                          "mode, setMode, uid, gid, mtimeSec, mtimeNsec, fsync)");
    return NULL;
  }
  w->dir_fd = (int)dir_fd;
  w->mode = (mode_t)mode;
  w->set_mode = set_mode;
  w->uid = uid;
  w->gid = gid;
  w->set_mtime = nsec != -1;
  w->mtime.tv_sec = (time_t)sec;
  w->mtime.tv_nsec = (long)(nsec < 0 ? 0 : nsec);
  w->fsync = fsync;
  if (napi_create_string_utf8(env, "kube-restore:writeFileIn", NAPI_AUTO_LENGTH, &name) !=
          napi_ok ||
      napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, w, &w->work) != napi_ok ||
      napi_queue_async_work(env, w->work) != napi_ok) {
    /* a promise made and never settled is let go with the rest */
    release(env, w);
    napi_throw_error(env, NULL, "writeFileIn: could not start the work");
    return NULL;
  }
  return promise;
}

bool register_small_files(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "writeFileIn", NAPI_AUTO_LENGTH, WriteFileIn, NULL, &fn) ==
             napi_ok &&
         napi_set_named_property(env, exports, "writeFileIn", fn) == napi_ok;
}
