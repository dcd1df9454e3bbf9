# FLYWHEEL_SANITIZE=address -> ASan + UBSan (no recovery); thread -> TSan;
# fuzzer -> ASan + UBSan with libFuzzer's coverage instrumentation (clang only; the clang-fuzz
# preset): every library and test is compiled with -fsanitize=fuzzer-no-link, and only the
# targets of fuzz/ link libFuzzer's main (-fsanitize=fuzzer, see fuzz/CMakeLists.txt).
if(FLYWHEEL_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(FLYWHEEL_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(FLYWHEEL_SANITIZE STREQUAL "fuzzer")
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FLYWHEEL_SANITIZE=fuzzer needs clang (libFuzzer): use the clang-fuzz preset")
  endif()
  add_compile_options(-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(NOT FLYWHEEL_SANITIZE STREQUAL "")
  message(FATAL_ERROR "unknown FLYWHEEL_SANITIZE='${FLYWHEEL_SANITIZE}'")
endif()
