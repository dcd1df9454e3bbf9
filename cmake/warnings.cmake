# Warning flags for project targets only (third-party headers are included as SYSTEM).
set(FLYWHEEL_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
# Clang checks the lock annotations of base/thread_annotations.h (the clang-fuzz preset, `make tsa`).
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND FLYWHEEL_WARNING_FLAGS -Wthread-safety)
endif()
if(FLYWHEEL_WERROR)
  list(APPEND FLYWHEEL_WARNING_FLAGS -Werror)
endif()
if(NOT FLYWHEEL_SANITIZE STREQUAL "" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false maybe-uninitialized positives inside libstdc++ (std::regex,
  # std::function) when sanitizers change inlining.
  list(APPEND FLYWHEEL_WARNING_FLAGS -Wno-maybe-uninitialized)
endif()
