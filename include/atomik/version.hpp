// atomik/version.hpp: the library version (semantic versioning; 0.x while
// the API settles: minor versions may break it).
#pragma once

namespace atomik {
inline constexpr int kVersionMajor = 0;
inline constexpr int kVersionMinor = 1;
inline constexpr int kVersionPatch = 0;
inline constexpr const char* kVersionString = "0.1.0";
}  // namespace atomik
