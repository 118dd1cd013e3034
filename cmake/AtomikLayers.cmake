# SPDX-License-Identifier: Apache-2.0
# atomik_add_layer(): one layer library of atomik (docs/design.md, "Layers").
#
#   atomik_add_layer(<name> [BELOW <lower layer>]
#                    SOURCES <src/...cpp>...
#                    HEADERS <public header, relative to include/atomik>...
#                    PRIVATE_HEADERS <private header, relative to src>...
#                    [PUBLIC_LIBS <lib>...] [PRIVATE_LIBS <lib>...]
#                    [COMPILE_LIBS <lib>...]
#                    [PRIVATE_SYSTEM_INCLUDES <dir>...]
#                    [PRIVATE_DEFINITIONS <def>...])
#
# The build enforces the layering: a layer's sources compile against its own
# view of the headers, a directory of symbolic links in the build tree
#   <build>/layers/<name>/include/atomik/<public header>
#   <build>/layers/<name>/src/<private header>
# holding only the headers of this layer; the layers below come in through
# BELOW (their libraries' usage requirements and their private views). So
# #include "atomik/node.hpp" in src/core/ fails to compile with "No such file
# or directory": the core layer never sees it. include/ and src/ themselves
# are on no layer's include path.
#
# Targets made for a layer <name>:
#   atomik_<name>_objects  OBJECT library: the compiled sources (PIC, hidden
#                          visibility: only ATOMIK_EXPORT symbols leave a
#                          shared library).
#   atomik_<name>          the library (alias atomik::<name>, export name
#                          <name>, file libatomik_<name>.a or .so): static by
#                          default, shared with BUILD_SHARED_LIBS=ON.
#   atomik_<name>_internal with BUILD_SHARED_LIBS=ON only: a static library of
#                          the same objects, for tests and benchmarks that call
#                          private functions (hidden in the shared library).
#                          Never installed. atomik_internal links them all.
include_guard(GLOBAL)

set(ATOMIK_LAYER_ROOT ${PROJECT_BINARY_DIR}/layers)

function(_atomik_link_view dir from files)
  foreach(f IN LISTS files)
    if(NOT EXISTS ${from}/${f})
      message(FATAL_ERROR "atomik layer file ${from}/${f} does not exist "
                          "(cmake/AtomikSources.cmake lists it)")
    endif()
    get_filename_component(parent ${dir}/${f} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${from}/${f} ${dir}/${f} SYMBOLIC)
  endforeach()
endfunction()

function(atomik_add_layer name)
  cmake_parse_arguments(L "" "BELOW"
    "SOURCES;HEADERS;PRIVATE_HEADERS;PUBLIC_LIBS;PRIVATE_LIBS;COMPILE_LIBS;PRIVATE_SYSTEM_INCLUDES;PRIVATE_DEFINITIONS"
    ${ARGN})
  set(view ${ATOMIK_LAYER_ROOT}/${name})
  # Rebuilt on every configure, so a header moved to another layer leaves
  # no stale link behind.
  file(REMOVE_RECURSE ${view})
  _atomik_link_view(${view}/include/atomik ${PROJECT_SOURCE_DIR}/include/atomik
                    "${L_HEADERS}")
  _atomik_link_view(${view}/src ${PROJECT_SOURCE_DIR}/src "${L_PRIVATE_HEADERS}")
  set_property(GLOBAL APPEND PROPERTY ATOMIK_LAYER_HEADERS ${L_HEADERS})
  set_property(GLOBAL PROPERTY ATOMIK_LAYER_HEADERS_${name} ${L_HEADERS})

  # Private view: this layer's private headers and those of every layer below.
  set(private_dirs ${view}/src)
  if(L_BELOW)
    get_property(below_dirs GLOBAL PROPERTY ATOMIK_LAYER_PRIVATE_DIRS_${L_BELOW})
    list(APPEND private_dirs ${below_dirs})
  endif()
  set_property(GLOBAL PROPERTY ATOMIK_LAYER_PRIVATE_DIRS_${name} ${private_dirs})

  set(obj atomik_${name}_objects)
  add_library(${obj} OBJECT ${L_SOURCES})
  set_target_properties(${obj} PROPERTIES
    CXX_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${obj} PUBLIC cxx_std_20)
  target_include_directories(${obj} PUBLIC ${view}/include PRIVATE ${private_dirs})
  if(L_PRIVATE_SYSTEM_INCLUDES)
    target_include_directories(${obj} SYSTEM PRIVATE ${L_PRIVATE_SYSTEM_INCLUDES})
  endif()
  target_compile_definitions(${obj} PRIVATE ${L_PRIVATE_DEFINITIONS})
  # COMPILE_LIBS: usage requirements for compiling only (header-only use,
  # such as xxhash inlined); the layer library never links them.
  target_link_libraries(${obj} PRIVATE atomik_warnings ${L_PRIVATE_LIBS} ${L_COMPILE_LIBS})
  if(L_BELOW)
    target_link_libraries(${obj} PUBLIC atomik_${L_BELOW})
  endif()
  if(name STREQUAL "core")
    target_include_directories(${obj} PUBLIC ${ATOMIK_GENERATED_INCLUDE})
  endif()

  set(kinds "")
  list(APPEND kinds atomik_${name})
  add_library(atomik_${name} $<TARGET_OBJECTS:${obj}>)
  if(BUILD_SHARED_LIBS)
    add_library(atomik_${name}_internal STATIC $<TARGET_OBJECTS:${obj}>)
    list(APPEND kinds atomik_${name}_internal)
    set_property(GLOBAL APPEND PROPERTY ATOMIK_INTERNAL_LIBS atomik_${name}_internal)
  else()
    set_property(GLOBAL APPEND PROPERTY ATOMIK_INTERNAL_LIBS atomik_${name})
  endif()
  add_library(atomik::${name} ALIAS atomik_${name})
  foreach(t IN LISTS kinds)
    set_target_properties(${t} PROPERTIES
      LINKER_LANGUAGE CXX CXX_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON)
    target_compile_features(${t} PUBLIC cxx_std_20)
    target_include_directories(${t} PUBLIC
      $<BUILD_INTERFACE:${view}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    if(name STREQUAL "core")
      target_include_directories(${t} PUBLIC
        $<BUILD_INTERFACE:${ATOMIK_GENERATED_INCLUDE}>)
    endif()
    target_link_libraries(${t} PUBLIC ${L_PUBLIC_LIBS} PRIVATE ${L_PRIVATE_LIBS})
  endforeach()
  set_target_properties(atomik_${name} PROPERTIES
    EXPORT_NAME ${name} OUTPUT_NAME atomik_${name}
    VERSION ${PROJECT_VERSION} SOVERSION ${ATOMIK_SOVERSION})
  if(L_BELOW)
    target_link_libraries(atomik_${name} PUBLIC atomik_${L_BELOW})
    if(BUILD_SHARED_LIBS)
      target_link_libraries(atomik_${name}_internal PUBLIC atomik_${L_BELOW}_internal)
    endif()
  endif()
  set_property(GLOBAL APPEND PROPERTY ATOMIK_LAYERS ${name})
endfunction()

# Fails the configure if a header in include/atomik/ belongs to no layer: it
# would be visible to no target in the build tree (and not be installed).
function(atomik_check_layer_headers)
  file(GLOB present RELATIVE ${PROJECT_SOURCE_DIR}/include/atomik
       ${PROJECT_SOURCE_DIR}/include/atomik/*)
  get_property(listed GLOBAL PROPERTY ATOMIK_LAYER_HEADERS)
  foreach(h IN LISTS present)
    if(NOT h IN_LIST listed)
      message(FATAL_ERROR "include/atomik/${h} belongs to no layer: add it to "
                          "the HEADERS of its layer in cmake/AtomikSources.cmake")
    endif()
  endforeach()
endfunction()
