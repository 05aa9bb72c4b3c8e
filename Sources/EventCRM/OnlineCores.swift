#if canImport(Glibc)
import Glibc
#endif

/// The cores online now (at least 1): how wide ingest and projection work is cut.
var onlineCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
