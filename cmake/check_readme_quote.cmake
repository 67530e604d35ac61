# cmake -DREADME=... -DEXAMPLE=... -P check_readme_quote.cmake
# Fails unless the example file's text appears verbatim in the README.
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "${example}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${README} does not quote ${EXAMPLE} verbatim; update the README's code block")
endif()
