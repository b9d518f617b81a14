"""Conan 2 recipe for chatroom, built from this source tree.

    conan create packaging/conan --build=missing [-o chatroom/*:with_redis=True]

The version is read from the project() line of the top CMakeLists.txt.
tests/packaging/check_packaging.py checks this file's declarations against
the project; tests/consumer/run.sh (mode conan) builds test_package/ against
the tree installed by CMake.
"""
import os
import re

from conan import ConanFile
from conan.tools.files import copy, load

ROOT = os.path.join("..", "..")


class ChatroomConan(ConanFile):
    name = "chatroom"
    description = "Header-only chat rooms on standalone Asio"
    topics = ("chat", "asio", "header-only", "networking")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"with_redis": [True, False], "with_tls": [True, False]}
    default_options = {"with_redis": False, "with_tls": False}
    no_copy_source = True

    def set_version(self):
        text = load(self, os.path.join(self.recipe_folder, ROOT, "CMakeLists.txt"))
        self.version = re.search(r"project\(chatroom VERSION ([0-9.]+)", text).group(1)

    def export_sources(self):
        root = os.path.join(self.recipe_folder, ROOT)
        copy(self, "include/*", src=root, dst=self.export_sources_folder)

    def requirements(self):
        self.requires("asio/[>=1.18 <2]")
        if self.options.with_redis:
            self.requires("hiredis/[>=1.0 <2]")
        if self.options.with_tls:
            self.requires("openssl/[>=1.1 <4]")

    def package_id(self):
        self.info.clear()

    def package(self):
        copy(self, "*.hpp", src=os.path.join(self.source_folder, "include"),
             dst=os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "chatroom")
        self.cpp_info.set_property("pkg_config_name", "chatroom-all")

        core = self.cpp_info.components["chatroom"]
        core.set_property("cmake_target_name", "chatroom::chatroom")
        core.set_property("pkg_config_name", "chatroom")
        core.bindirs = []
        core.libdirs = []
        core.defines = ["ASIO_STANDALONE"]
        core.requires = ["asio::asio"]
        if self.settings.os in ("Linux", "FreeBSD"):
            core.system_libs = ["pthread"]
        if self.options.with_tls:
            core.defines.append("CHATROOM_USE_OPENSSL")
            core.requires.append("openssl::ssl")

        if self.options.with_redis:
            redis = self.cpp_info.components["redis"]
            redis.set_property("cmake_target_name", "chatroom::redis")
            redis.set_property("pkg_config_name", "chatroom-redis")
            redis.bindirs = []
            redis.libdirs = []
            redis.requires = ["chatroom", "hiredis::hiredis"]
