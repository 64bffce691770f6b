#if canImport(Darwin)
    import Darwin
#else
    import Glibc
#endif

/// The text of the current `errno`, for error messages.
func lastErrorText() -> String { String(cString: strerror(errno)) }
