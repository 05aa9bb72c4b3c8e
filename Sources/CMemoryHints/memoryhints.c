// The hints are inline functions in the header; SwiftPM builds a C target from at least one source file.
#include "cmemoryhints.h"
