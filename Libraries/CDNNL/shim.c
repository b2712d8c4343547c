// The C target needs one translation unit; the helpers live in the header.
#include "CDNNL.h"
