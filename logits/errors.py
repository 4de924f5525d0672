"""The root error type of the lab, the errors of the store layer, and what an OS error means for the user.

Every package's errors derive from `LabError`: a message meant for the person at the keyboard.

The CLI prints these without a traceback; anything else is a bug and keeps its traceback.
"""


import errno
import os


class LabError(Exception):
    """Base class: bad input or state that the user can fix. The message says how."""


class StoreError(LabError):
    """A logits store is missing, incomplete, corrupt, or was given bad arrays."""


class VocabularyError(LabError):
    """Labels that cannot be mapped onto the CTC convention (blank, word delimiter)."""


class LogitsError(LabError):
    """Log-probabilities with the wrong shape or non-finite values."""


class FileAccessError(LabError):
    """A file or folder that cannot be read or written: a full disk, missing permissions, a read-only file system."""


def describe_os_error(exc: OSError, path: str | os.PathLike | None = None) -> str:
    """What an OSError means, naming the path: the disk is full, permission is denied, and so on.

    numpy reports a short write (a full disk) as an OSError without errno ("N requested and M written").
    """
    where = exc.filename or path
    name = f"{where}" if where is not None else "a file"
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT) or (code is None and "requested and" in str(exc)):
        return (f"no space left on the device holding {name}: free some space and run the command again (finished "
                "work is kept, and an interrupted store, cache or sweep resumes)")
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied: {name}"
    if code == errno.EROFS:
        return f"{name} is on a read-only file system"
    if code == errno.ENOENT:
        return f"{name} does not exist"
    if code == errno.ENOTDIR:
        return f"{name}: a part of this path is a file, not a folder"
    if code == errno.EISDIR:
        return f"{name} is a folder, not a file"
    return f"{name}: {exc.strerror or exc}"
