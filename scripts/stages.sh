# Timed stages for the set-up and test scripts (sourced, not run):
#   stage NAME COMMAND...   runs COMMAND, and when $CODEBRAIN_STAGES names a file appends
#                           "NAME<TAB>seconds<TAB>ok|failed (rc N)" to it; returns COMMAND's status
#   stage_record NAME START RC   appends a stage that began at START (date +%s) and ended with RC now
#   stage_table FILE        prints the stages of FILE as a table, with their total
# .ci/run sets CODEBRAIN_STAGES and prints the table when it ends, passed or not, so the time of every
# stage of the README's test command is on record next to its 90-minute limit.
stage() {
    local name=$1 start rc errexit=
    shift
    start=$(date +%s)
    # a subshell with -e, not `"$@" || rc=$?`: bash ignores -e inside anything run on the left of ||,
    # so a failing step inside a function would not stop it
    [[ $- == *e* ]] && errexit=1
    set +e
    (set -e; "$@")
    rc=$?
    [ -z "$errexit" ] || set -e
    stage_record "$name" "$start" $rc
    return $rc
}

stage_record() {
    [ -n "${CODEBRAIN_STAGES:-}" ] || return 0
    printf '%s\t%s\t%s\n' "$1" "$(( $(date +%s) - $2 ))" "$([ "$3" = 0 ] && echo ok || echo "failed (rc $3)")" \
        >> "$CODEBRAIN_STAGES"
}

stage_table() {
    [ -s "$1" ] || return 0
    awk -F'\t' 'BEGIN { printf "%-28s %9s  %s\n", "stage", "minutes", "result" }
        { printf "%-28s %9.1f  %s\n", $1, $2 / 60, $3; total += $2 }
        END { printf "%-28s %9.1f  (the image build runs beside pytest)\n", "sum of stages", total / 60 }' "$1"
}
