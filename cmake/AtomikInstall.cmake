# SPDX-License-Identifier: Apache-2.0
# Install rules (ATOMIK_INSTALL): the layer libraries, their headers, the
# generated version header, a relocatable CMake package (atomikConfig.cmake
# with components, atomikConfigVersion.cmake, atomikTargets.cmake) and one
# pkg-config file per layer plus atomik.pc. docs/install.md describes the
# result. Nothing installed holds an absolute path: the CMake files locate
# the prefix from their own directory and find their dependencies again on
# the consumer's machine; the .pc files set prefix from ${pcfiledir}.
include(CMakePackageConfigHelpers)

get_property(_layers GLOBAL PROPERTY ATOMIK_LAYERS)
set(_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/atomik)
set(_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Installed shared libraries find each other in their own directory.
foreach(layer IN LISTS _layers)
  set_target_properties(atomik_${layer} PROPERTIES INSTALL_RPATH "$ORIGIN")
endforeach()
set_target_properties(atomik PROPERTIES EXPORT_NAME atomik)

list(TRANSFORM _layers PREPEND atomik_ OUTPUT_VARIABLE _layer_targets)
install(TARGETS ${_layer_targets} atomik EXPORT atomikTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(layer IN LISTS _layers)
  get_property(_headers GLOBAL PROPERTY ATOMIK_LAYER_HEADERS_${layer})
  list(TRANSFORM _headers PREPEND ${PROJECT_SOURCE_DIR}/include/atomik/)
  install(FILES ${_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/atomik)
endforeach()
install(FILES ${ATOMIK_GENERATED_INCLUDE}/atomik/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/atomik)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/NOTICE
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# CMake package.
install(EXPORT atomikTargets NAMESPACE atomik:: DESTINATION ${_cmake_dir})
set(ATOMIK_CONFIG_SHARED ${BUILD_SHARED_LIBS})
if(NOT ATOMIK_CONFIG_SHARED)
  set(ATOMIK_CONFIG_SHARED OFF)
endif()
set(ATOMIK_CONFIG_COMPONENTS ${_layers})
configure_package_config_file(cmake/atomikConfig.cmake.in
  ${PROJECT_BINARY_DIR}/atomikConfig.cmake
  INSTALL_DESTINATION ${_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/atomikConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/atomikConfig.cmake
              ${PROJECT_BINARY_DIR}/atomikConfigVersion.cmake
        DESTINATION ${_cmake_dir})

# pkg-config. A shared library carries its own dependencies (DT_NEEDED), so
# they go to Requires.private/Libs.private (used by `pkg-config --static`).
# A static archive cannot be linked without them, so a static install lists
# them in Requires/Libs, where a plain `pkg-config --libs` finds them; a C
# program also needs the C++ runtime then (-lstdc++ -lm).
file(RELATIVE_PATH _pc_to_prefix ${CMAKE_INSTALL_PREFIX}/${_pc_dir}
     ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" _pc_to_prefix "${_pc_to_prefix}")
set(PC_PREFIX "\${pcfiledir}/${_pc_to_prefix}")
set(PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
set(PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
set(PC_VERSION ${PROJECT_VERSION})

# _atomik_pc(<file> <description> <requires> <requires.private> <libs>
#            <libs.private>): writes <file>.pc for this build's kind.
function(_atomik_pc file description requires requires_private libs libs_private)
  if(NOT BUILD_SHARED_LIBS)
    string(STRIP "${requires} ${requires_private}" requires)
    set(requires_private "")
    if(libs)  # only the layers' own files carry the C++ runtime
      string(STRIP "${libs} ${libs_private} -lstdc++ -lm" libs)
      string(REGEX REPLACE "  +" " " libs "${libs}")
    endif()
    set(libs_private "")
  endif()
  set(PC_NAME ${file})
  set(PC_DESCRIPTION "${description}")
  set(PC_REQUIRES "${requires}")
  set(PC_REQUIRES_PRIVATE "${requires_private}")
  set(PC_LIBS "${libs}")
  set(PC_LIBS_PRIVATE "${libs_private}")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/atomik.pc.in
                 ${PROJECT_BINARY_DIR}/pkgconfig/${file}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${file}.pc DESTINATION ${_pc_dir})
endfunction()

set(_rt_flag "")
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  set(_rt_flag " -lrt")
endif()
_atomik_pc(atomik-core
  "atomik core: contexts, tables, fingerprints, messages, frames, streams"
  "" "" "-L\${libdir} -latomik_core" "-pthread${_rt_flag}")
_atomik_pc(atomik-storage "atomik storage: WAL, checkpoints, PersistentTable"
  "atomik-core" "" "-L\${libdir} -latomik_storage" "")
_atomik_pc(atomik-net "atomik net: nodes over TCP/UDP and their client"
  "atomik-storage" "libsodium" "-L\${libdir} -latomik_net" "")
_atomik_pc(atomik-c "atomik C API: atomik/atomik.h over every layer but Redis"
  "atomik-net" "" "-L\${libdir} -latomik_c" "")
set(_umbrella_requires "atomik-core atomik-storage atomik-net atomik-c")
if(ATOMIK_HAVE_REDIS)
  _atomik_pc(atomik-redis "atomik redis: Redis Streams replication"
    "atomik-net" "hiredis" "-L\${libdir} -latomik_redis" "")
  string(APPEND _umbrella_requires " atomik-redis")
endif()
_atomik_pc(atomik "atomik: delta-state algebra (every layer)"
  "${_umbrella_requires}" "" "" "")
