# SPDX-License-Identifier: Apache-2.0
# ATOMIK_SANITIZE=address,undefined (or thread) instruments every target.
if(ATOMIK_SANITIZE)
  add_compile_options(-fsanitize=${ATOMIK_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${ATOMIK_SANITIZE})
  add_compile_definitions(ATOMIK_SANITIZED=1)
endif()
