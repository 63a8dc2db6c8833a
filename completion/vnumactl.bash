# bash completion for vnumactl(1).                            -*- shell-script -*-
#
# Completes commands, each command's options, guest names (asked from the
# daemon with `vnumactl list`, on the socket given on the line if any: -c,
# --connect, --socket, -r), domain
# XML files for expand/argv/plan and hwloc XML files for --topology. Plain
# bash: works with or without the bash-completion package.

# The daemon verbs: those of vnumactl's table (src/reactor/verbs.cpp;
# tests/reactor/verbs_test.cpp checks that this list is that table's).
_vnumactl_daemon_verbs="list dominfo domxml vcpuinfo numastat vcpupin setvcpus attach-memory detach-memory start shutdown destroy suspend resume reboot restart reload host-shutdown console events"
# Options every daemon command takes, before or after the command word.
_vnumactl_daemon_options="--connect -c --socket --readonly -r --json --help"
_vnumactl_offline_verbs="expand argv plan capabilities"

# Options of one command, as `vnumactl CMD --help` lists them.
_vnumactl_options() {
    case $1 in
        expand) echo "--topology --config --reserved-cpus --reserved-memory --allow-overcommit --help" ;;
        argv) echo "--topology --config --reserved-cpus --reserved-memory --allow-overcommit --qmp --help" ;;
        plan) echo "--topology --config --reserved-cpus --reserved-memory --state-dir --empty --allow-overcommit --json --help" ;;
        capabilities) echo "--topology --reserved-cpus --json --help" ;;
        setvcpus | detach-memory) echo "$_vnumactl_daemon_options --timeout-ms" ;;
        shutdown | restart) echo "$_vnumactl_daemon_options --timeout" ;;
        attach-memory) echo "$_vnumactl_daemon_options --cell --size" ;;
        events) echo "$_vnumactl_daemon_options --domain" ;;
        console) echo "--connect -c --socket --readonly -r --force --escape --help" ;;
        *) echo "$_vnumactl_daemon_options" ;;
    esac
}

# Options that take a value (the next word is that value, not a positional).
_vnumactl_takes_value() {
    case $1 in
        --socket | --connect | -c | --topology | --config | --reserved-cpus | --reserved-memory | --state-dir | --qmp | --cell | --size | --timeout | --timeout-ms | --domain | --escape) return 0 ;;
    esac
    return 1
}

# Guest names from the daemon. $1: which ones (all | running: has a QEMU |
# stopped: has none | paused);
# $2: the vnumactl to run; $3: the socket, may be empty; $4: -r or empty.
_vnumactl_guests() {
    local which=$1 prog=$2 socket=$3 readonly=${4-}
    local -a cmd=("$prog" list)
    [[ -n $socket ]] && cmd+=(--socket "$socket")
    [[ -n $readonly ]] && cmd+=(-r)
    # `list` prints two header lines, then " PID|-  NAME  STATE..." per guest.
    if type -P timeout >/dev/null; then cmd=(timeout 3 "${cmd[@]}"); fi
    "${cmd[@]}" 2>/dev/null | awk -v which="$which" '
        NR > 2 && NF >= 3 {
            if (which == "running" && $1 == "-") next
            if (which == "stopped" && $1 != "-") next
            if (which == "paused" && $3 != "paused") next
            print $2
        }'
}

# *.xml files and directories to descend into.
_vnumactl_xml_files() {
    local cur=$1
    compopt -o filenames 2>/dev/null
    local IFS=$'\n'
    COMPREPLY+=($(compgen -f -X '!*.xml' -- "$cur") $(compgen -d -- "$cur"))
}

_vnumactl() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    # With '=' in COMP_WORDBREAKS (bash's default), "--topology=x" arrives as
    # three words: --topology, =, x.
    if [[ $cur == "=" ]]; then
        cur=
    elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi
    COMPREPLY=()

    local prog=${COMP_WORDS[0]}
    [[ $prog == */* && -x $prog ]] || prog=vnumactl

    # The command word, the socket given so far (global options may come
    # before the command word too), and how many positional arguments
    # precede the word being completed.
    local verb= socket= readonly= npos=0 i word
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
            --socket=* | --connect=*) socket=${word#*=} ;;
            --*=*) ;;
            -r | --readonly) readonly=-r ;;
            -*)
                _vnumactl_takes_value "$word" || continue
                # The value: the next word, or the one after a lone "=".
                [[ ${COMP_WORDS[i + 1]-} == "=" ]] && ((i++))
                case $word in
                    --socket | --connect | -c) ((i + 1 < COMP_CWORD)) && socket=${COMP_WORDS[i + 1]} ;;
                esac
                ((i++))
                ;;
            *)
                if [[ -z $verb ]]; then verb=$word; else ((npos++)); fi
                ;;
        esac
    done

    if [[ -z $verb ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--help --version --connect -c --socket --readonly -r" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_vnumactl_daemon_verbs $_vnumactl_offline_verbs" -- "$cur"))
        fi
        return 0
    fi

    # The value of an option.
    case $prev in
        --topology)
            _vnumactl_xml_files "$cur"
            return 0
            ;;
        --socket | --connect | -c | --qmp)
            compopt -o filenames 2>/dev/null
            local IFS=$'\n'
            COMPREPLY=($(compgen -f -- "$cur"))
            return 0
            ;;
        --reserved-cpus)
            COMPREPLY=($(compgen -W "auto none" -- "$cur"))
            return 0
            ;;
        --cell | --size | --timeout | --timeout-ms)
            return 0
            ;;
        --domain)
            COMPREPLY=($(compgen -W "$(_vnumactl_guests all "$prog" "$socket" "$readonly")" -- "$cur"))
            return 0
            ;;
        --escape)
            COMPREPLY=($(compgen -W "'^]' '^A' none" -- "$cur"))
            return 0
            ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_vnumactl_options "$verb")" -- "$cur"))
        return 0
    fi

    case $verb in
        expand | argv)
            ((npos == 0)) && _vnumactl_xml_files "$cur"
            ;;
        plan)
            _vnumactl_xml_files "$cur"
            ;;
        start)
            ((npos == 0)) && COMPREPLY=($(compgen -W "$(_vnumactl_guests stopped "$prog" "$socket" "$readonly")" -- "$cur"))
            ;;
        resume)
            ((npos == 0)) && COMPREPLY=($(compgen -W "$(_vnumactl_guests paused "$prog" "$socket" "$readonly")" -- "$cur"))
            ;;
        dominfo | domxml | restart | events)
            ((npos == 0)) && COMPREPLY=($(compgen -W "$(_vnumactl_guests all "$prog" "$socket" "$readonly")" -- "$cur"))
            ;;
        vcpuinfo | numastat | vcpupin | setvcpus | attach-memory | detach-memory | shutdown | destroy | suspend | reboot | console)
            ((npos == 0)) && COMPREPLY=($(compgen -W "$(_vnumactl_guests running "$prog" "$socket" "$readonly")" -- "$cur"))
            ;;
    esac
    return 0
}

complete -F _vnumactl vnumactl
