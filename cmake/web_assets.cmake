# The dashboard (web/, doc/dashboard.md) compiled into flywheel_server: cmake/embed_web.cmake
# writes generated/web_assets.cc (one byte array per file) whenever a file of web/ changes, and
# server::StaticAssets serves it at / and /ui/<name>. A new file of web/ is one more name here.
set(FLYWHEEL_WEB_FILES index.html style.css favicon.svg errors.js api.js charts.js dom.js app.js
    overview.js user.js item.js)
set(FLYWHEEL_WEB_DIR ${PROJECT_SOURCE_DIR}/web)
set(FLYWHEEL_WEB_CC ${FLYWHEEL_GENERATED_DIR}/web_assets.cc)
list(TRANSFORM FLYWHEEL_WEB_FILES PREPEND ${FLYWHEEL_WEB_DIR}/ OUTPUT_VARIABLE _web_paths)
list(JOIN FLYWHEEL_WEB_FILES "," _web_names)
add_custom_command(
  OUTPUT ${FLYWHEEL_WEB_CC}
  COMMAND ${CMAKE_COMMAND} -DSRC_DIR=${FLYWHEEL_WEB_DIR} -DOUT=${FLYWHEEL_WEB_CC}
          "-DFILES=${_web_names}" -P ${PROJECT_SOURCE_DIR}/cmake/embed_web.cmake
  DEPENDS ${_web_paths} ${PROJECT_SOURCE_DIR}/cmake/embed_web.cmake
  COMMENT "dashboard: embedding web/ into web_assets.cc"
  VERBATIM)
target_sources(flywheel_server PRIVATE ${FLYWHEEL_WEB_CC})
if(TARGET flywheel_server_test)
  # static_assets_test.cc compares the compiled-in bytes with web/.
  target_compile_definitions(flywheel_server_test PRIVATE FLYWHEEL_WEB_DIR="${FLYWHEEL_WEB_DIR}"
                             FLYWHEEL_WEB_FILES="${_web_names}")
endif()
