#pragma once

/// @file
/// The library's version. The one place it is set is project() in
/// CMakeLists.txt; tests/packaging/check_packaging.py keeps these equal to it.
namespace chatroom {

inline constexpr int version_major = 3;               ///< changes break compatibility
inline constexpr int version_minor = 0;               ///< changes add to the API
inline constexpr int version_patch = 0;               ///< changes fix
inline constexpr const char* version_string = "3.0.0"; ///< "major.minor.patch"

} // namespace chatroom
