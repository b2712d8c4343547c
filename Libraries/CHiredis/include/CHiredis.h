#ifndef REFRAME_CHIREDIS_H
#define REFRAME_CHIREDIS_H
#include <hiredis/hiredis.h>
#endif
