#!/usr/bin/env python3
"""The packaging files agree with the project, as far as can be checked
without vcpkg and Conan (neither is installable here: Debian packages
neither, and there is no PyPI access).

    the version:  project(chatroom VERSION x.y.z) in CMakeLists.txt is the one
                  place; include/chatroom/version.hpp, vcpkg.json and
                  cmake/chatroom.pc.in must agree with it (the Conan recipe
                  reads it)
    vcpkg:        vcpkg.json is valid JSON with the project's name, version,
                  description and dependencies (asio; hiredis for "redis");
                  every -DCHATROOM_ option of portfile.cmake is an option or
                  cache variable of CMakeLists.txt; the usage file's CMake
                  lines are what packaging/vcpkg/test builds
    Conan:        conanfile.py (and test_package/conanfile.py) compile; run
                  against a stand-in of the conan module, the recipe's
                  set_version, requirements and package_info declare the
                  project's version, dependencies, targets (those the CMake
                  package exports) and ASIO_STANDALONE (as FindAsio.cmake
                  does); its test_package links chatroom::chatroom

tests/consumer/run.sh (modes vcpkg and conan) builds the two test projects
against the installed tree. Usage: check_packaging.py SOURCE_DIR
"""
import json
import pathlib
import re
import sys
import types

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


cmakelists = (root / "CMakeLists.txt").read_text()
m = re.search(r'project\(chatroom VERSION ([0-9]+)\.([0-9]+)\.([0-9]+) DESCRIPTION "([^"]*)"', cmakelists)
if not m:
    sys.exit("CMakeLists.txt: no project(chatroom VERSION x.y.z DESCRIPTION ...) line")
major, minor, patch, description = m.groups()
version = f"{major}.{minor}.{patch}"
print(f"project version {version}")

# --- the version, everywhere it is written down
header = (root / "include/chatroom/version.hpp").read_text()
for name, want in (("version_major", major), ("version_minor", minor), ("version_patch", patch)):
    hm = re.search(rf"\b{name}\s*=\s*([0-9]+);", header)
    check(hm is not None and hm.group(1) == want, f"version.hpp {name} is {want}")
sm = re.search(r'version_string\s*=\s*"([^"]*)"', header)
check(sm is not None and sm.group(1) == version, f'version.hpp version_string is "{version}"')
check("@PROJECT_VERSION@" in (root / "cmake/chatroom.pc.in").read_text(), "chatroom.pc takes its version from project()")

# --- CMake options the recipes pass must exist
cmake_vars = set(re.findall(r'option\((CHATROOM_[A-Z_]+)', cmakelists))
cmake_vars |= set(re.findall(r'set\((CHATROOM_[A-Z_]+)\s[^)]*CACHE', cmakelists))
exported = {"chatroom::chatroom"}
if "EXPORT_NAME redis" in cmakelists or "chatroom::redis" in (root / "cmake/chatroomConfig.cmake.in").read_text():
    exported.add("chatroom::redis")

# --- vcpkg
port = root / "packaging/vcpkg/chatroom"
try:
    manifest = json.loads((port / "vcpkg.json").read_text())
except ValueError as e:
    manifest = {}
    check(False, f"vcpkg.json is valid JSON ({e})")
else:
    check(True, "vcpkg.json is valid JSON")
check(manifest.get("name") == "chatroom", "vcpkg.json name is chatroom")
check(manifest.get("version") == version, f"vcpkg.json version is {version}")
check(manifest.get("description") == description, "vcpkg.json description is the project's")


def dep_names(deps):
    return {d if isinstance(d, str) else d.get("name") for d in deps}


deps = manifest.get("dependencies", [])
check("asio" in dep_names(deps), "vcpkg.json depends on asio")
host = {d["name"] for d in deps if isinstance(d, dict) and d.get("host")}
check({"vcpkg-cmake", "vcpkg-cmake-config"} <= host, "vcpkg.json has vcpkg-cmake and vcpkg-cmake-config as host tools")
features = manifest.get("features", {})
check("hiredis" in dep_names(features.get("redis", {}).get("dependencies", [])), 'vcpkg feature "redis" depends on hiredis')
check("openssl" in dep_names(features.get("tls", {}).get("dependencies", [])), 'vcpkg feature "tls" depends on openssl')

portfile = (port / "portfile.cmake").read_text()
port_options = re.findall(r'-D(CHATROOM_[A-Z_]+)=', portfile)
check(bool(port_options), "portfile.cmake passes CHATROOM_ options")
for opt in port_options:
    check(opt in cmake_vars, f"portfile option {opt} exists in CMakeLists.txt")
for call in ("vcpkg_cmake_configure", "vcpkg_cmake_install", "vcpkg_cmake_config_fixup", "vcpkg_fixup_pkgconfig"):
    check(call + "(" in portfile, f"portfile.cmake calls {call}")

usage = (port / "usage").read_text()


def cmake_lines(text):
    """The find_package and target_* lines, with the target's name and
    REQUIRED left out (the test builds one target per feature, and finds
    OpenSSL only where it is installed)."""
    out = set()
    for line in text.splitlines():
        line = line.strip()
        if re.match(r"(find_package|target_link_libraries|target_compile_definitions)\(", line):
            out.add(re.sub(r"^(target_\w+)\(\w+ ", r"\1(T ", line).replace(" REQUIRED)", ")"))
    return out


vcpkg_test = cmake_lines((root / "packaging/vcpkg/test/CMakeLists.txt").read_text())
for line in sorted(cmake_lines(usage)):
    check(line in vcpkg_test, f"packaging/vcpkg/test builds the usage line: {line}")
for target in re.findall(r"chatroom::[a-z]+", usage):
    check(target in exported, f"usage names {target}, which the CMake package exports")

# --- Conan
conan = root / "packaging/conan"
for f in (conan / "conanfile.py", conan / "test_package/conanfile.py"):
    try:
        compile(f.read_text(), str(f), "exec")
        check(True, f"{f.relative_to(root)} compiles")
    except SyntaxError as e:
        check(False, f"{f.relative_to(root)} compiles: {e}")


# A stand-in for the parts of the conan module the recipe uses, enough to
# run its declarations (set_version, requirements, package_info).
class Options(dict):
    __getattr__ = dict.get


class Info:
    def __init__(self):
        self.properties, self.components = {}, Components()
        self.bindirs, self.libdirs, self.defines, self.requires, self.system_libs = ["bin"], ["lib"], [], [], []

    def set_property(self, k, v):
        self.properties[k] = v


class Components(dict):
    def __missing__(self, k):
        self[k] = Info()
        return self[k]


class ConanFile:
    def __init__(self, options=None, os_name="Linux"):
        self.options = Options(self.default_options, **(options or {}))
        self.settings = types.SimpleNamespace(os=os_name)
        self.recipe_folder = str(conan)
        self.cpp_info = Info()
        self.required = []

    def requires(self, ref):
        self.required.append(ref)


conan_mod = types.ModuleType("conan")
conan_mod.ConanFile = ConanFile
tools = {
    "conan.tools": {}, "conan.tools.files": {"copy": None, "load": lambda _self, p: pathlib.Path(p).read_text()},
    "conan.tools.build": {"can_run": None}, "conan.tools.cmake": {"CMake": None, "cmake_layout": None},
}
sys.modules["conan"] = conan_mod
for name, attrs in tools.items():
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod

recipe_ns = {"__file__": str(conan / "conanfile.py")}
exec(compile((conan / "conanfile.py").read_text(), "conanfile.py", "exec"), recipe_ns)
Recipe = recipe_ns["ChatroomConan"]
check(Recipe.name == "chatroom", "conanfile name is chatroom")
check(Recipe.description == description, "conanfile description is the project's")
check(Recipe.package_type == "header-library", "conanfile package_type is header-library")

r = Recipe()
r.set_version()
check(r.version == version, f"conanfile set_version() reads {version}")
r.requirements()
check(any(x.startswith("asio/") for x in r.required), "conanfile requires asio")
check(not any(x.startswith(("hiredis/", "openssl/")) for x in r.required), "conanfile requires no hiredis or openssl by default")
asio_min = re.search(r"find_package\(Asio ([0-9.]+)", cmakelists).group(1)
check(any(x.startswith(f"asio/[>={asio_min}") for x in r.required), f"conanfile asio range starts at CMake's minimum {asio_min}")
r.package_info()
comps = r.cpp_info.components
check(r.cpp_info.properties.get("cmake_file_name") == "chatroom", "conanfile cmake_file_name is chatroom (find_package(chatroom))")
check(set(comps) == {"chatroom"}, "without with_redis: one component, chatroom")
core = comps["chatroom"]
check(core.properties.get("cmake_target_name") == "chatroom::chatroom", "component chatroom is target chatroom::chatroom")
check(core.properties.get("pkg_config_name") == "chatroom", "component chatroom is pkg-config chatroom")
findasio = (root / "cmake/FindAsio.cmake").read_text()
check("ASIO_STANDALONE" in findasio and core.defines == ["ASIO_STANDALONE"], "chatroom defines ASIO_STANDALONE, as FindAsio.cmake does")
check(core.libdirs == [] and core.bindirs == [], "chatroom is header-only (no lib or bin dirs)")

r = Recipe(options={"with_redis": True, "with_tls": True})
r.requirements()
check(any(x.startswith("hiredis/") for x in r.required), "with_redis requires hiredis")
check(any(x.startswith("openssl/") for x in r.required), "with_tls requires openssl")
r.package_info()
comps = r.cpp_info.components
targets = {c.properties.get("cmake_target_name") for c in comps.values()}
check(targets == exported, f"with_redis: the targets are those the CMake package exports ({sorted(exported)})")
check("hiredis::hiredis" in comps["redis"].requires and "chatroom" in comps["redis"].requires, "redis requires chatroom and hiredis")
check(comps["redis"].properties.get("pkg_config_name") == "chatroom-redis", "component redis is pkg-config chatroom-redis")
check((root / "cmake/chatroom-redis.pc.in").exists(), "cmake/chatroom-redis.pc.in exists")
check("CHATROOM_USE_OPENSSL" in comps["chatroom"].defines, "with_tls defines CHATROOM_USE_OPENSSL")

tp = (conan / "test_package/CMakeLists.txt").read_text()
check("find_package(chatroom CONFIG REQUIRED)" in tp and "chatroom::chatroom" in tp, "test_package uses find_package(chatroom) and chatroom::chatroom")
tpr = (conan / "test_package/conanfile.py").read_text()
check("tested_reference_str" in tpr and "CMakeDeps" in tpr, "test_package requires the tested reference through CMakeDeps")

if failures:
    print(f"{len(failures)} packaging check(s) failed")
    sys.exit(1)
print("packaging files agree with the project")
