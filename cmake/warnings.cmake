# Warning flags for project targets only (third-party headers are included as SYSTEM).
set(FLYWHEEL_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
if(FLYWHEEL_WERROR)
  list(APPEND FLYWHEEL_WARNING_FLAGS -Werror)
endif()
if(NOT FLYWHEEL_SANITIZE STREQUAL "")
  # GCC 12 reports false maybe-uninitialized positives inside libstdc++ (std::regex,
  # std::function) when sanitizers change inlining.
  list(APPEND FLYWHEEL_WARNING_FLAGS -Wno-maybe-uninitialized)
endif()
