#!/usr/bin/env python3
"""Seeds the --scale dataset as plain files for versitygw's posix backend: N objects of SIZE bytes
under BUCKET_DIR/m/dNNNN/fNNNNNNN (1,000 a directory), each with its MD5 in the user.etag
extended attribute, which versitygw serves as the object's ETag (so the job verifies MD5s, as it
would on S3). The content of object i is its index and a fixed pattern: deterministic, distinct.
Node has no setxattr, hence Python.

  seed-scale.py BUCKET_DIR N SIZE
"""
import hashlib
import os
import sys


def main() -> None:
    bucket, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    pattern = (b"kube-restore scale object " * (size // 26 + 2))
    per_dir = 1000
    for d in range((count + per_dir - 1) // per_dir):
        dir_path = os.path.join(bucket, "m", f"d{d:04d}")
        os.makedirs(dir_path, exist_ok=True)
        for i in range(d * per_dir, min(count, (d + 1) * per_dir)):
            body = (f"{i:010d}\n".encode() + pattern)[:size]
            path = os.path.join(dir_path, f"f{i:07d}")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, body)
                os.setxattr(fd, "user.etag", hashlib.md5(body).hexdigest().encode())
            finally:
                os.close(fd)


if __name__ == "__main__":
    main()
