# SPDX-License-Identifier: Apache-2.0
# The standing abuse suite (issue 15, docs/security.md): what a hostile or
# careless client, user, file or device finds. Every test carries the label
# "abuse" (`ctest -L abuse`); scripts/test.sh runs them with the rest, and
# again under ASan + UBSan.
restock_unit_test(abuse_http SOURCES ${RESTOCK_TEST_DIR}/test_abuse_http.c
                  ${RESTOCK_TEST_DIR}/fake_adapter.c LIBS rstesthttp rsgateway)
target_compile_definitions(abuse_http PRIVATE HTTP_FIXTURE_DIR="${RESTOCK_TEST_DIR}/fixtures/http")
set_tests_properties(abuse_http PROPERTIES LABELS abuse)

# Devices: a Modbus TCP device that answers only garbage is counted as
# malformed and shown down after down_after (tests/test_modbus.py garbage).
add_test(NAME abuse_modbus_garbage
         COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_modbus.py garbage
                 --encode $<TARGET_FILE:modbus_encode_tool>
                 --poll $<TARGET_FILE:modbus_poll_tool>
                 --probe $<TARGET_FILE:modbus_probe_cli>
                 --server $<TARGET_FILE:modbus_rtu_server>
                 --restockd $<TARGET_FILE:restockd>
                 --peers ${RESTOCK_TEST_DIR}/peers)
set_tests_properties(abuse_modbus_garbage PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77
                     LABELS abuse)

# CLI and files: reports never create a database and work read-only; empty
# and foreign database files refused (init-db is the explicit step); replay
# input bounded; --url http(s) only; under a file-size limit restockctl,
# restock-sim and restockd --check exit 1 naming it (never killed by SIGXFSZ).
add_test(NAME abuse_cli
         COMMAND /bin/bash ${RESTOCK_TEST_DIR}/test_abuse_cli.sh $<TARGET_FILE:restockd>
                 $<TARGET_FILE:restockctl> $<TARGET_FILE:ctl_seed> $<TARGET_FILE:restock-sim>)
set_tests_properties(abuse_cli PROPERTIES TIMEOUT 180 LABELS abuse)

# Devices: a CoAP peer answering every RST with another message (a reset
# storm) gets at most COAPA_RST_PER_S RSTs a second.
add_test(NAME abuse_coap_storm
         COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_abuse_coap.py
                 $<TARGET_FILE:modbus_poll_tool> ${RESTOCK_TEST_DIR}/peers)
set_tests_properties(abuse_coap_storm PROPERTIES TIMEOUT 120 LABELS abuse)

# Configuration: hostile files (deep nesting, alias bombs, anchors, merge
# keys, duplicates, huge values and files) are refused quickly with key
# paths; the same fixtures run as config_invalid_* too.
foreach(fixture nested-too-deep-flow-sequences nested-too-deep-flow-mappings
        nested-too-deep-block-lists alias-bomb anchors-and-aliases merge-key duplicate-keys
        scalar-too-large file-too-large invalid-utf8 restock-yaml-not-utf8 restock-yaml-utf16
        control-character allowed-hosts-beyond-loopback-without-admin)
  add_test(NAME abuse_config_${fixture}
           COMMAND /bin/bash ${RESTOCK_TEST_DIR}/run_fixtures.sh $<TARGET_FILE:restockd> invalid
                   ${RESTOCK_TEST_DIR}/fixtures/invalid/${fixture})
  set_tests_properties(abuse_config_${fixture} PROPERTIES TIMEOUT 60 LABELS abuse)
endforeach()

# Orders: restockd against a hostile shop (tests/test_abuse_shop.py): garbage,
# another order's answer, redirect loops, a byte a second, a reset mid-answer,
# 2 MiB answers, a status answer for another order, 500 pages, a database that
# cannot record the shop's answer (fsize: no POST storm). restockd keeps
# running, the log names what was wrong, and across a restart the shop holds
# the order exactly once and the database agrees.
foreach(case garbage200 otherref redirect drip reset bigbody statusother status500 fsize)
  add_test(NAME abuse_shop_${case}
           COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_abuse_shop.py $<TARGET_FILE:restockd>
                   $<TARGET_FILE:restockctl> $<TARGET_FILE:ctl_seed> ${case})
  set_tests_properties(abuse_shop_${case} PROPERTIES TIMEOUT 180 LABELS abuse)
endforeach()

# Storage: a file-size limit put on the running restockd (prlimit, as
# `ulimit -f` or LimitFSIZE=) while an approval mail goes out through a real
# SMTP server (aiosmtpd): restockd lives (SIGXFSZ), /healthz names the limit,
# the mail is sent once (not at every tick), the log is not flooded, and all
# recovers when the limit is lifted (tests/test_abuse_fsize.py).
add_test(NAME abuse_fsize
         COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_abuse_fsize.py $<TARGET_FILE:restockd>
                 $<TARGET_FILE:ctl_seed>)
set_tests_properties(abuse_fsize PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77 LABELS abuse)


# Orders: a shop that answers the second order's POST with the first order's
# shop id (one shop order may not settle two orders: not recorded, retried,
# and a delivery delivers one), valid JSON of the wrong shape, a status line
# trickled a byte a second (tests/test_attack_shop.py). Two orders, a restart
# in the middle; each held once by the shop and once in the database.
foreach(case dupid wrongshape trickle)
  add_test(NAME abuse_attack_shop_${case}
           COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_attack_shop.py
                   $<TARGET_FILE:restockd> $<TARGET_FILE:restockctl> $<TARGET_FILE:ctl_seed>
                   ${case})
  set_tests_properties(abuse_attack_shop_${case} PROPERTIES TIMEOUT 180 LABELS abuse)
endforeach()

# Mail: an SMTP server that closes the connection in the middle of DATA, or
# holds it while restockd reloads (SIGHUP): the approver gets the approval
# mail once, the outbox says sent, its link opens the order
# (tests/test_attack_smtp.py).
foreach(case dropdata reload)
  add_test(NAME abuse_attack_smtp_${case}
           COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/test_attack_smtp.py
                   $<TARGET_FILE:restockd> $<TARGET_FILE:ctl_seed> ${case})
  set_tests_properties(abuse_attack_smtp_${case} PROPERTIES TIMEOUT 180 LABELS abuse)
endforeach()
