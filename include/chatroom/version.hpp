#pragma once

namespace chatroom {

inline constexpr int version_major = 2;
inline constexpr int version_minor = 0;
inline constexpr int version_patch = 0;
inline constexpr const char* version_string = "2.0.0";

} // namespace chatroom
