# An overlay port that builds from this source tree (no release tarball is
# published): vcpkg install chatroom --overlay-ports=<tree>/packaging/vcpkg
# chatroom is header-only, so one (release) configuration is enough.
set(VCPKG_BUILD_TYPE release)
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

# tests/consumer/run.sh (mode vcpkg) installs the tree with these same
# options and builds packaging/vcpkg/test against it.
vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DCHATROOM_BUILD_TESTS=OFF
        -DCHATROOM_BUILD_EXAMPLES=OFF
        -DCHATROOM_INSTALL=ON
        -DCHATROOM_INSTALL_CMAKEDIR=share/chatroom
        -DCHATROOM_INSTALL_PKGCONFIGDIR=share/pkgconfig
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME chatroom CONFIG_PATH share/chatroom)
vcpkg_fixup_pkgconfig()

# Header-only: nothing under lib/.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/lib" "${CURRENT_PACKAGES_DIR}/debug")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
# The project has no LICENSE file yet; vcpkg requires a copyright file.
if(EXISTS "${SOURCE_PATH}/LICENSE")
    vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
else()
    file(WRITE "${CURRENT_PACKAGES_DIR}/share/${PORT}/copyright"
        "chatroom declares no license yet; see README.md in the source tree.\n")
endif()
