// placeholder
#include <kiln/kiln.hpp>
