# SPDX-License-Identifier: MIT
# cmake -DDIR=vmbus/vsp -DSTAMP=file -P check_includes.cmake
# Fails if a VSP source or header includes the server's internals:
# vmbus_internal.h, the ring logic (hvkvm/ring.h), or anything by a "../"
# path. A VSP gets what it needs through hvkvm/channel.h.
file(GLOB files ${DIR}/*.c ${DIR}/*.h)
set(bad "")
foreach(f ${files})
  file(STRINGS ${f} lines REGEX "^[ \t]*#[ \t]*include")
  foreach(l ${lines})
    if(l MATCHES "vmbus_internal\\.h|[\"<]hvkvm/ring\\.h[\">]|[\"<]\\.\\./")
      get_filename_component(name ${f} NAME)
      string(APPEND bad "\n  vmbus/vsp/${name}: ${l}")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "VSPs see only hvkvm/channel.h (docs/vmbus.md), "
                      "not the server's internals:${bad}")
endif()
file(TOUCH ${STAMP})
