// compile_cpp.cpp - ws.h must compile as C++ (declarations and implementation).
#define WS_IMPLEMENTATION
#include "../ws.h"
#include "../ws.h"   // a second include is harmless
int main() { return ws_result_str(WS_OK)[0] == 'o' ? 0 : 1; }
