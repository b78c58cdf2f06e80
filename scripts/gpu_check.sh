#!/usr/bin/env bash
# The GPU half of the project in one call of a lent GPU machine (issue 20): prepared here,
# run there, its results brought back in at most 8 files.
#
# HERE (a CPU machine with ../shared beside the checkout, or the flags), once:
#   scripts/gpu_check.sh --prepare [DIR] [--mnist DIR] [--suite DIR] [--legacy DIR] [--no-mpich]
#   make gpu-check-prepare
# fills DIR (default .gpu-check, git-ignored) with what the GPU machine lacks:
#   wheels/       chainer 7.8.1 (pure Python, built with build-constraints.txt as the Makefile
#                 does) and mock (chainer's tests import it); wheels/mpi/ the MPICH wheel, for
#                 step 7 where the machine has no mpiexec (13 MB; --no-mpich leaves it out)
#   shared/       what the tests take from ../shared: mnist/ (the four MNIST .gz files: --mnist,
#                 else ../shared/mnist, else the cache), legacy/graph.dot (the 2017 graph),
#                 chainer-tests/ (chainer's test files of the VAE path and what they import,
#                 scripts/chainer_suite.py's VAE_PATH, with chainer's LICENSE)
#   MANIFEST.txt  what made it (commit, command, files)
# and prints its size beside the tree's: the two travel together, 64 MiB at most.
#
# THERE (the GPU machine: python3 with CuPy, NumPy, PyTorch, pytest, mpi4py; no chainer, no
# network), with the prepared folder carried:
#   scripts/gpu_check.sh [--seconds 480] [--prepared DIR] [--work DIR] [--gpu N] OUTDIR [STEP...]
#   make gpu-check OUT=OUTDIR
# installs the wheels into WORK/site (pip --no-index --no-deps --target), puts it and the
# repository on PYTHONPATH, and runs the steps, most important first, each under its own
# `timeout`, all within --seconds:
#   1 versions  nvidia-smi; Python, NumPy, CuPy, CUDA runtime and driver, chainer, PyTorch
#   2 legacy    python train_vae.py --gpu 0 --seed 0 (full MNIST, 100 epochs), run folder
#               WORK/mnist_dimz20_gpu; stopped by SIGINT at its budget, it keeps its
#               checkpoint and goes on (--resume-from) later in this call or the next one
#   3 tests     pytest -m gpu of this repository, and chainer's own GPU cases of the VAE path
#               through the revival (scripts/chainer_suite.py --gpu, a process a module)
#   4 resume    SIGINT + --resume-from on the GPU (tests/test_gpu.py, beside step 3)
#   5 bench     benchmarks/bench_epoch.py --gpu 0: ours and PyTorch, seconds an epoch, images/s
#   6 m2        seconds an epoch of M2 on the pixels (N = 3000, 3 epochs) and of M1+M2 (N =
#               100, 3 epochs, on a one-epoch M1) with --gpu: what Table 1 costs on a GPU
#   7 mpi       one epoch under mpiexec -n 1 ... --communicator pure_nccl (when time is left)
# STEPs name the steps to run (again); without them every step not yet done in WORK runs
# (step 1 runs once a machine, and always first). Budgets (seconds): step 1 about 15;
# steps 3+4 120 together; step 5 100; step 6 90; step 7 40; 20 kept for the summary; step 2
# the rest, before step 3, and whatever is left after step 6 (step 7 waits for a finished
# step 2).
# WORK (default .gpu-run, git-ignored, not carried) stays on a warm machine: a second call
# finds the run folder and every step's result there.
#
# How long step 2 takes is not known before it runs. Chainer drives CuPy from Python, a
# few hundred small kernels a step, so an epoch costs the per-call overhead of ~600
# training steps and 100 evaluation batches (k = 10), not the H200's arithmetic: about
# 3-6 s an epoch is expected, 5-10 minutes for the 100 epochs, more than one call leaves
# beside the other steps (about 3.5 minutes). So the first call is expected to end with
# the run unfinished (exit 75) and the second call to finish it.
#
# Comes back in OUTDIR (at most 8 files, none over 16 MiB, none in a folder; all written
# anew after every step, so a call killed later still brings back what was done):
#   summary.md      the steps' results, most important first (also when a step fails or
#                   runs out of time)
#   logs.tar.gz     every step's log and report, the versions, the step status files
#   run.tar.gz      mnist_dimz20_gpu/: stdout.txt (the legacy lines, joined over resumes),
#                   log.csv, config.json, graph.dot, mlp_20.model once finished
#   checkpoint.npz  the run's checkpoint (15 MiB) while it is unfinished
#   gpu.md          the benchmark's table (benchmarks/bench_epoch.py)
# Exit: 0 every step done and passed; 1 a step failed; 75 nothing failed but a step is
# left (the run unfinished, or no time): call again. No GPU, or nothing prepared: one line
# on stderr, exit 1, nothing written. --gpu -1 runs the steps on the CPU instead: a dry run
# of this plumbing (timeouts, summary, packing) on a machine without a GPU; its results
# say nothing about a GPU.
#
# THE DEVICE CALL (a session whose task is lent a GPU; ask `status` first, it is free):
#   here:  make gpu-check-prepare      (in the checkout the session was started in)
#   run:   command   bash scripts/gpu_check.sh --seconds 480 "$OUT"
#          carry     [".gpu-check"]
#          timeout_s 560
#   then at once (the machine stays warm only 30 s), if it exited 75, the same call with
#   --seconds set to the reply's lease.budget_left_s minus about 60, and timeout_s 40
#   above that; else give_back. If the machine went cold, a fresh one can still finish the
#   run (with 4 minutes or more of budget): copy the checkpoint.npz and run.tar.gz that
#   came back into .gpu-check/resume/ and call with
#   bash scripts/gpu_check.sh --seconds S "$OUT" legacy      (remove resume/ afterwards).
# AFTERWARDS commit (issue 20): results/mnist_dimz20_gpu/ (tar -xzf run.tar.gz -C results,
# then the pictures drawn here from its model: python -m chainer_vae.visualize
# results/mnist_dimz20_gpu --data-dir ../shared/mnist --start 0 --end 7; all but
# mlp_20.model),
# results/benchmarks/gpu.md (gpu.md), and the README's GPU section with the seconds per
# epoch, the 100-epoch total and the versions of summary.md; (issue 25) the m2 step's
# seconds an epoch in results/README.md's M2 costs and README's cost line: Table 1 on a GPU.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
MNIST_FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
             t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
STEPS=(versions legacy tests resume bench m2 mpi)
MIB=$((1024 * 1024))

die() {  # MESSAGE [CODE]: one line on stderr (and, once the steps began, the summary's)
    echo "gpu_check.sh: error: $1" >&2
    STOPPED=$1 STOPPED_CODE=${2:-1}
    exit "${2:-1}"
}

# ---- here: --prepare ------------------------------------------------------------

prepare() {
    local flags="$*" dir=$REPO/.gpu-check mnist='' suite=$REPO/../shared/chainer-tests
    local legacy=$REPO/../shared/legacy mpich=1
    while (($#)); do
        case $1 in
            --mnist) mnist=${2:?}; shift ;;
            --suite) suite=${2:?}; shift ;;
            --legacy) legacy=${2:?}; shift ;;
            --no-mpich) mpich=0 ;;
            -*) die "--prepare: unknown flag $1" 2 ;;
            *) dir=$1 ;;
        esac
        shift
    done
    if [ -z "$mnist" ]; then  # ../shared, else the cache train_vae.py reads
        for mnist in "$REPO/../shared/mnist" \
                     "${CHAINER_DATASET_ROOT:-$HOME/.chainer/dataset}/chainer_vae/mnist"; do
            [ -f "$mnist/${MNIST_FILES[0]}" ] && break
        done
    fi
    for name in "${MNIST_FILES[@]}"; do
        [ -f "$mnist/$name" ] || die "--prepare: no $name in $mnist (--mnist DIR: the four MNIST .gz files)"
    done
    [ -d "$suite/tests" ] || die "--prepare: no chainer test suite in $suite (--suite DIR: chainer 7.8.1's tests, as ../shared/chainer-tests)"

    rm -rf "$dir/wheels" "$dir/shared"  # resume/, if there, stays
    mkdir -p "$dir/wheels" "$dir/shared/mnist" || die "--prepare: cannot write in $dir"
    local log
    # build-constraints.txt as the README says: PIP_BUILD_CONSTRAINT for pip >= 25.3,
    # PIP_CONSTRAINT for older pip (python3's own, say)
    log=$(PIP_BUILD_CONSTRAINT=$REPO/build-constraints.txt PIP_CONSTRAINT=$REPO/build-constraints.txt \
          "$PY" -m pip wheel -q --no-deps -w "$dir/wheels" chainer==7.8.1 mock 2>&1) \
        || die "--prepare: pip wheel chainer==7.8.1 mock failed: $(tail -n 1 <<<"$log")"
    if ((mpich)); then  # for the GPU machine's Python 3.12 on x86-64
        log=$("$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
              --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
              --platform manylinux2014_x86_64 -d "$dir/wheels/mpi" mpich 2>&1) \
            || die "--prepare: pip download mpich failed: $(tail -n 1 <<<"$log")"
    fi
    for name in "${MNIST_FILES[@]}"; do
        cp "$mnist/$name" "$dir/shared/mnist/" || die "--prepare: cannot copy $mnist/$name"
    done
    if [ -f "$legacy/graph.dot" ]; then
        mkdir -p "$dir/shared/legacy" && cp "$legacy/graph.dot" "$dir/shared/legacy/"
    else
        echo "gpu_check.sh: no $legacy/graph.dot: the GPU graph test will skip there" >&2
    fi
    log=$("$PY" "$REPO/scripts/chainer_suite.py" --vae-path --suite "$suite" \
          --copy-to "$dir/shared/chainer-tests" 2>&1) \
        || die "--prepare: copying chainer's tests failed: $(tail -n 1 <<<"$log")"

    {
        echo "Made by: scripts/gpu_check.sh --prepare $flags"
        echo "On: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo "MNIST from: $mnist; chainer's tests from: $suite"
        (cd "$dir" && find wheels shared -type f -printf '%s\t%p\n' | sort -k2)
    } > "$dir/MANIFEST.txt"

    local prepared tree
    prepared=$(du -sb "$dir" | cut -f1)
    tree=$(cd "$REPO" && git ls-files -z --cached --others --exclude-standard 2>/dev/null \
           | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s += $1} END {print s + 0}')
    awk -v d="$dir" -v p="$prepared" -v t="$tree" -v m=$MIB 'BEGIN {printf "gpu_check.sh: " \
        "prepared %s: %.1f MiB; the tree: %.1f MiB; together %.1f MiB of the 64 MiB that " \
        "travel\n", d, p / m, t / m, (p + t) / m}'
    ((prepared + tree <= 64 * MIB)) \
        || die "--prepare: $dir and the tree are over the 64 MiB that travel (--no-mpich saves 13 MB)"
}

# ---- there: the steps -----------------------------------------------------------

left() {  # seconds left before the summary's reserve
    echo $((DEADLINE - RESERVE - SECONDS))
}

pending() {  # STEP: asked for, and not done (ok or failed) in this work folder
    local status
    [[ " $ASKED " == *" $1 "* ]] || return 1
    status=$(cut -f1 "$WORK/status/$1" 2>/dev/null)
    [ "$status" != ok ] && [ "$status" != failed ]
}

record() {  # STEP STATUS SECONDS BUDGET DETAIL: the step's line of the summary; OUT anew
    printf '%s\t%s\t%s\t%s\n' "$2" "$3" "$4" "$5" > "$WORK/status/$1"
    pack  # what is there comes back even if this call is killed later
}

budget_of() {  # BUDGET: no more than is left
    local left
    left=$(left)
    echo $(($1 < left ? $1 : left))
}

last_line() {  # FILE: its last non-empty line, tabs and pipes made harmless
    grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | tr '\t|' ' /' | cut -c1-300
}

pytest_result() {  # LOG: pytest's closing line (4 passed, 1 deselected in 9.81s)
    local line
    line=$(grep -E '^(=+ )?([0-9]+ (passed|failed|skipped|deselected|errors?|xfailed|xpassed)|no tests ran)' \
           "$1" 2>/dev/null | tail -n 1 | tr -d '=|' | sed 's/^ *//; s/ *$//')
    echo "${line:-no closing line: stopped before the end}"
}

timed() {  # BUDGET COMMAND...: COMMAND, stopped by SIGINT after BUDGET s (SIGKILL 20 s later)
    timeout -s INT -k 20 "$@"  # exits 124 when the time ran out, 137 if it had to kill
}

outcome() {  # EXIT_CODE: ok, cut (out of time: timed's 124 or 137) or failed
    case $1 in
        0) echo ok ;;
        124|137) echo cut ;;
        *) echo failed ;;
    esac
}

step_versions() {
    local start=$SECONDS out=$WORK/logs/versions.txt
    {
        echo "## nvidia-smi"; timeout 20 nvidia-smi
        echo; echo "## Python"
        timeout 60 "$PY" - "$GPU" <<'EOF'
import platform, sys
import numpy
print('Python', platform.python_version(), sys.executable)
print('NumPy', numpy.__version__)
try:
    import cupy
    rt = cupy.cuda.runtime
    name = rt.getDeviceProperties(max(int(sys.argv[1]), 0))['name']
    print('CuPy', cupy.__version__, '| CUDA runtime', rt.runtimeGetVersion(),
          '| driver (CUDA)', rt.driverGetVersion(), '| GPU',
          name.decode() if isinstance(name, bytes) else name)
except Exception as e:
    cupy = None
    print('CuPy: not usable:', str(e).splitlines()[0] if str(e) else type(e).__name__)
import chainer_vae, chainer  # the revival first
print('chainer', chainer.__version__, 'from', chainer.__file__)
try:
    import torch
    print('PyTorch', torch.__version__, '| CUDA', torch.version.cuda)
except ImportError:
    print('PyTorch: not installed')
try:
    import mpi4py
    print('mpi4py', mpi4py.__version__)
except ImportError:
    print('mpi4py: not installed')
print('\n## chainer.print_runtime_info()')
chainer.print_runtime_info()
if cupy:
    print('\n## cupy.show_config()')
    cupy.show_config()
EOF
        echo; echo "## mpiexec"; command -v mpiexec || echo "no mpiexec on PATH"
    } > "$out" 2>&1
    local line
    line=$(grep -E '^(Python|NumPy|CuPy|chainer|PyTorch) ' "$out" | cut -d'|' -f1-4 \
           | sed 's/ from .*//' | paste -sd ';' | sed 's/;/; /g')
    line+="; driver $(timeout 20 nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)"
    local status=failed  # chainer did not import
    grep -q '^chainer 7.8.1 ' "$out" && status=ok
    record versions $status $((SECONDS - start)) - "$(tr '\t|' ' /' <<<"$line")"
}

legacy_command() {  # LEGACY: the command that starts or resumes the legacy run
    local resume=$PREPARED/resume
    if [ ! -d "$RUN" ] && [ -f "$resume/checkpoint.npz" ]; then  # from an earlier machine
        mkdir -p "$RUN" && tar -xzf "$resume/run.tar.gz" -C "$RUN" --strip-components 1 \
            && cp "$resume/checkpoint.npz" "$RUN/" \
            && mv "$RUN/stdout.txt" "$WORK/legacy/stdout.00.txt" \
            && echo "== restored from $resume" >> "$WORK/logs/legacy.log"
    fi
    if [ -f "$RUN/checkpoint.npz" ]; then  # --gpu: a resumed run takes it from the flag
        LEGACY=("$PY" train_vae.py --resume-from "$RUN" --gpu "$GPU")
    else  # the legacy command
        LEGACY=("$PY" train_vae.py --gpu "$GPU" --seed 0 -o "$RUN")
        [ -d "$RUN" ] && LEGACY+=(--force)  # a start stopped before its first checkpoint
    fi
}

step_legacy() {  # BUDGET
    local budget start=$SECONDS chunk rc line
    budget=$(budget_of "$1")
    ((budget >= 60)) || return 0  # the start alone takes 10 to 20 s
    chunk=$(printf %02d $(($(find "$WORK/legacy" -name 'stdout.*.txt' | wc -l) + 1)))
    legacy_command
    echo "== part $chunk, budget ${budget}s: ${LEGACY[*]}" >> "$WORK/logs/legacy.log"
    (cd "$REPO" && timed "$budget" "${LEGACY[@]}") \
        > "$WORK/legacy/stdout.$chunk.txt" 2> "$WORK/legacy/stderr.$chunk.txt"
    rc=$?
    cat "$WORK/legacy/stderr.$chunk.txt" >> "$WORK/logs/legacy.log"
    echo "== exit $rc after $((SECONDS - start))s" >> "$WORK/logs/legacy.log"
    line=$("$PY" "$REPO/scripts/gpu_check_report.py" legacy "$RUN")
    case $? in
        0) record legacy ok $((SECONDS - start)) "$budget" "$line" ;;
        3) if [ "$(outcome $rc)" = cut ]; then
               record legacy cut $((SECONDS - start)) "$budget" "$line"
           else
               record legacy failed $((SECONDS - start)) "$budget" \
                   "exit $rc: $(last_line "$WORK/legacy/stderr.$chunk.txt"); $line"
           fi ;;
        *) record legacy failed $((SECONDS - start)) "$budget" "cannot read $RUN/log.csv" ;;
    esac
}

step_tests() {  # steps 3 and 4 side by side, each module of chainer's suite its own process
    local budget start=$SECONDS suite=$PREPARED/shared/chainer-tests
    budget=$(budget_of "$B_TESTS")
    ((budget >= 30)) || return 0
    local pytest_pid='' resume_pid='' pids=() reports=() path name
    if pending tests; then
        mkdir -p "$WORK/logs/chainer"
        (cd "$REPO" && timed "$budget" "$PY" -m pytest -q -p no:cacheprovider -rs -m gpu \
             -k 'not sigint' tests) > "$WORK/logs/pytest_gpu.log" 2>&1 &
        pytest_pid=$!
        for path in $(cd "$suite" && find tests -name 'test_*.py' | sort); do
            name=$(tr / _ <<<"${path#tests/chainer_tests/}")
            reports+=("$WORK/logs/chainer/${name%.py}.md")
            (cd "$REPO" && timed "$budget" "$PY" scripts/chainer_suite.py --gpu --suite "$suite" \
                 --report "${reports[-1]}" "$path") > "$WORK/logs/chainer/${name%.py}.log" 2>&1 &
            pids+=($!)
        done
    fi
    if pending resume; then
        (cd "$REPO" && timed "$budget" "$PY" -m pytest -q -p no:cacheprovider \
             tests/test_gpu.py::test_sigint_then_resume_on_the_gpu) \
            > "$WORK/logs/pytest_resume.log" 2>&1 &
        resume_pid=$!
    fi
    local rc_pytest=0 rc_resume=0 rc cut=0 pid
    [ -z "$pytest_pid" ] || { wait "$pytest_pid"; rc_pytest=$?; }
    [ -z "$resume_pid" ] || { wait "$resume_pid"; rc_resume=$?; }
    for pid in "${pids[@]}"; do
        wait "$pid"
        rc=$?
        [ "$(outcome $rc)" = cut ] && cut=1
    done
    local took=$((SECONDS - start)) line status
    if pending tests; then
        line="pytest -m gpu: $(pytest_result "$WORK/logs/pytest_gpu.log"); chainer's GPU cases: "
        line+=$("$PY" "$REPO/scripts/gpu_check_report.py" suite "${reports[@]}")
        rc=$?  # 0 every module reported no failure; 1 a failure; 3 a report missing
        status=$(outcome "$rc_pytest")
        if [ "$status" = failed ] || ((rc == 1)); then status=failed
        elif ((rc == 3)); then status=$( ((cut)) && echo cut || echo failed)
        fi
        record tests "$status" "$took" "$budget" "$line"
    fi
    if pending resume; then
        record resume "$(outcome "$rc_resume")" "$took" "$budget" \
            "$(pytest_result "$WORK/logs/pytest_resume.log")"
    fi
}

step_bench() {
    local budget start=$SECONDS rc
    budget=$(budget_of "$B_BENCH")
    ((budget >= 30)) || return 0
    mkdir -p "$WORK/bench"
    (cd "$REPO" && timed "$budget" "$PY" benchmarks/bench_epoch.py --gpu "$GPU" \
         --dimz 20 --epoch 4 --rounds 2 --report "$WORK/bench/gpu.md") \
        > "$WORK/logs/bench.log" 2>&1
    rc=$?
    if ((rc == 0)); then  # the table's rows: | dimz | contender | train s | eval s | epoch s | train img/s | ...
        record bench ok $((SECONDS - start)) "$budget" "$(awk -F' *[|] *' '$3 == "ours" ||
            $3 == "pytorch" {printf "%s%s %s s an epoch, %s training images/s", sep, $3, $6, $7;
            sep = "; "}' "$WORK/bench/gpu.md")"
    else
        record bench "$(outcome $rc)" $((SECONDS - start)) "$budget" \
            "exit $rc: $(last_line "$WORK/logs/bench.log")"
    fi
}

m2_command() {  # NAME DIR: M2_COMMAND, the m2 step's run NAME (in DIR/NAME)
    case $1 in
        m2_pixels) M2_COMMAND=(-m chainer_vae.m2 --labels 3000 --epoch 3) ;;
        m1) M2_COMMAND=(train_vae.py --dimz 50 --binarize --n-train 50000 --epoch 1) ;;
        m1m2) M2_COMMAND=(-m chainer_vae.m2 --labels 100 --m1 "$2/m1" --epoch 3) ;;
    esac
    M2_COMMAND+=(--gpu "$GPU" --seed 0 -o "$2/$1")
}

step_m2() {  # M2 on the pixels, then an M1 and M1+M2 on it: seconds an epoch (issue 25)
    local budget start=$SECONDS dir=$WORK/m2 rc=0 name left line
    budget=$(budget_of "$B_M2")
    ((budget >= 30)) || return 0
    rm -rf "$dir" && mkdir -p "$dir"
    for name in m2_pixels m1 m1m2; do
        left=$((budget - (SECONDS - start)))
        ((left >= 5)) || { rc=124; break; }
        m2_command "$name" "$dir"
        echo "== $name, budget ${left}s: $PY ${M2_COMMAND[*]}" >> "$WORK/logs/m2.log"
        (cd "$REPO" && timed "$left" "$PY" "${M2_COMMAND[@]}") >> "$WORK/logs/m2.log" 2>&1
        rc=$?
        ((rc == 0)) || break
    done
    line=$("$PY" "$REPO/scripts/gpu_check_report.py" m2 "$dir/m2_pixels" "$dir/m1m2")
    if ((rc == 0)); then
        record m2 ok $((SECONDS - start)) "$budget" "$line"
    else
        record m2 "$(outcome $rc)" $((SECONDS - start)) "$budget" \
            "exit $rc: $(last_line "$WORK/logs/m2.log"); $line"
    fi
}

step_mpi() {
    local budget start=$SECONDS rc
    budget=$(budget_of "$B_MPI")
    ((budget >= 30)) || return 0
    if ! command -v mpiexec > /dev/null && compgen -G "$PREPARED/wheels/mpi/mpich-*.whl" > /dev/null; then
        [ -x "$WORK/mpich/bin/mpiexec" ] || "$PY" -m pip install -q --no-index --no-deps \
            --no-compile --prefix "$WORK/mpich" "$PREPARED"/wheels/mpi/mpich-*.whl \
            >> "$WORK/logs/mpi.log" 2>&1
        export PATH=$WORK/mpich/bin:$PATH MPI4PY_LIBMPI=$WORK/mpich/lib/libmpi.so.12
    fi
    (
        echo "== mpiexec: $(command -v mpiexec || echo none)"
        cd "$REPO" && timed "$budget" mpiexec -n 1 "$PY" train_vae.py \
            --communicator pure_nccl --gpu "$GPU" --epoch 1 --seed 0 -o "$WORK/mpi_run" --force
    ) >> "$WORK/logs/mpi.log" 2>&1
    rc=$?
    if ((rc == 0)); then
        record mpi ok $((SECONDS - start)) "$budget" \
            "$(grep '^test ' "$WORK/logs/mpi.log" | tail -n 1)"
    else
        record mpi "$(outcome $rc)" $((SECONDS - start)) "$budget" \
            "exit $rc: $(last_line "$WORK/logs/mpi.log")"
    fi
}

# ---- the summary and what comes back ---------------------------------------------

write_summary() {
    local step status took budget detail failed=() left=() headline
    for step in "${STEPS[@]}"; do
        status=$(cut -f1 "$WORK/status/$step" 2>/dev/null)
        [ "$status" = failed ] && failed+=("$step")
        [ "$status" != ok ] && [ "$status" != failed ] && [[ $ASKED == *" $step "* ]] \
            && left+=("$step")
    done
    if [ -n "$STOPPED" ]; then
        headline="STOPPED: $STOPPED"
        EXIT=$STOPPED_CODE
    elif ((${#failed[@]})); then
        headline="FAILED: ${failed[*]}"
        EXIT=1
    elif ((${#left[@]})); then
        headline="NOT DONE: ${left[*]} (call again to go on)"
        EXIT=75
    else
        headline="DONE: every step ran and passed"
        EXIT=0
    fi
    ((${#failed[@]} && ${#left[@]})) && [ -z "$STOPPED" ] && headline+="; NOT DONE: ${left[*]}"
    {
        echo "# GPU check: $headline"
        echo
        echo "\`scripts/gpu_check.sh $ARGS\`, $(date -u '+%Y-%m-%d %H:%M UTC'), call $CALL in" \
             "$WORK on $(uname -n), $SECONDS s of $SECONDS_ASKED s;" \
             "prepared: $(sed -n 2p "$PREPARED/MANIFEST.txt" 2>/dev/null)."
        echo
        echo "| step | status | s | budget s | result |"
        echo "|---|---|---|---|---|"
        local n=0
        for step in "${STEPS[@]}"; do
            n=$((n + 1))
            if [ -f "$WORK/status/$step" ]; then
                IFS=$'\t' read -r status took budget detail < "$WORK/status/$step"
            else
                status=$( [[ " $ASKED " == *" $step "* ]] && echo "not reached" || echo "not asked")
                took=- budget=- detail=
            fi
            echo "| $n $step | $status | $took | $budget | $detail |"
        done
        echo
        echo "Logs: logs.tar.gz (logs/, status/, m2/). The run: run.tar.gz; checkpoint.npz while it"
        echo "is unfinished. The benchmark: gpu.md."
        if [ -f "$WORK/bench/gpu.md" ]; then
            echo; echo "## benchmarks/bench_epoch.py"; echo; sed 's/^#/##/' "$WORK/bench/gpu.md"
        fi
        for step in "${failed[@]}"; do
            echo; echo "## $step failed: the end of its log"; echo; echo '```'
            case $step in
                tests) tail -n 30 "$WORK/logs/pytest_gpu.log"
                       grep -h -A8 '^Modules with a failure' "$WORK"/logs/chainer/*.md ;;
                resume) tail -n 40 "$WORK/logs/pytest_resume.log" ;;
                *) tail -n 30 "$WORK/logs/$step.log" ;;
            esac 2>/dev/null | cut -c1-300
            echo '```'
        done
        if [ -f "$WORK/logs/versions.txt" ]; then
            echo; echo "## versions"; echo; echo '```'; head -n 60 "$WORK/logs/versions.txt"; echo '```'
        fi
    } > "$WORK/summary.md.tmp" && mv "$WORK/summary.md.tmp" "$WORK/summary.md" \
        && cp "$WORK/summary.md" "$OUT/summary.md"
}

pack() {  # what comes back: at most 8 files in OUT, none over 16 MiB, no folders
    rm -f "$OUT/logs.tar.gz" "$OUT/run.tar.gz" "$OUT/checkpoint.npz" "$OUT/gpu.md"
    local logged=(logs status legacy)
    [ -d "$WORK/m2" ] && logged+=(m2)  # the m2 step's runs: their log.csv and config.json
    tar -czf "$OUT/logs.tar.gz" -C "$WORK" --exclude='*.npz' --exclude='*.model' "${logged[@]}"
    if [ -f "$RUN/config.json" ]; then
        local stage=$WORK/pack/mnist_dimz20_gpu name
        rm -rf "$WORK/pack" && mkdir -p "$stage"
        "$PY" "$REPO/scripts/gpu_check_report.py" stdout "$WORK"/legacy/stdout.*.txt \
            > "$stage/stdout.txt"
        for name in log.csv config.json graph.dot mlp_20.model; do
            [ -f "$RUN/$name" ] && cp "$RUN/$name" "$stage/"
        done
        tar -czf "$OUT/run.tar.gz" -C "$WORK/pack" mnist_dimz20_gpu
        [ "$(cut -f1 "$WORK/status/legacy" 2>/dev/null)" = ok ] \
            || cp "$RUN/checkpoint.npz" "$OUT/" 2>/dev/null
    fi
    [ -f "$WORK/bench/gpu.md" ] && cp "$WORK/bench/gpu.md" "$OUT/"
    write_summary
    local big
    big=$(find "$OUT" -type f -size +$((16 * MIB))c -printf '%f ')
    [ -z "$big" ] || echo "gpu_check.sh: over 16 MiB, will not come back: $big" >&2
}

finish() {
    trap - EXIT INT TERM
    pack
    exit "$EXIT"  # set by the summary
}

# ---- there: main -----------------------------------------------------------------

gpu_half() {
    ARGS="$*" PREPARED=$REPO/.gpu-check WORK=$REPO/.gpu-run GPU=0 SECONDS_ASKED=480
    local out='' asked=()
    while (($#)); do
        case $1 in
            --seconds) SECONDS_ASKED=${2:?}; shift ;;
            --prepared) PREPARED=${2:?}; shift ;;
            --work) WORK=${2:?}; shift ;;
            --gpu) GPU=${2:?}; shift ;;
            -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
            -*) die "unknown flag $1 (see --help)" 2 ;;
            *) if [ -z "$out" ]; then out=$1
               elif [[ " ${STEPS[*]} " == *" $1 "* ]]; then asked+=("$1")
               else die "$1: not a step (${STEPS[*]})" 2; fi ;;
        esac
        shift
    done
    [ -n "$out" ] || die "usage: scripts/gpu_check.sh [--seconds S] [--prepared DIR] [--work DIR] [--gpu N] OUTDIR [STEP...]; or --prepare (see --help)" 2
    [[ $SECONDS_ASKED =~ ^[0-9]+$ && $GPU =~ ^-?[0-9]+$ ]] || die "--seconds and --gpu take integers" 2
    if ((GPU >= 0)); then
        command -v nvidia-smi > /dev/null \
            || die "no GPU here: nvidia-smi not found (this half runs on the GPU machine; --prepare runs here, --gpu -1 is a dry run on the CPU)"
        nvidia-smi -L > /dev/null 2>&1 || die "no GPU here: nvidia-smi -L fails: $(nvidia-smi -L 2>&1 | head -n 1)"
    fi
    compgen -G "$PREPARED/wheels/chainer-7.8.1-*.whl" > /dev/null \
        || die "$PREPARED holds no chainer wheel: run scripts/gpu_check.sh --prepare where pip works, and carry the folder"
    mkdir -p "$out" "$WORK/status" "$WORK/logs" "$WORK/legacy" || die "cannot write in $out or $WORK"
    OUT=$(cd "$out" && pwd) PREPARED=$(cd "$PREPARED" && pwd) WORK=$(cd "$WORK" && pwd)
    RUN=$WORK/mnist_dimz20_gpu
    ASKED=" versions ${asked[*]:-${STEPS[*]}} "  # versions: the summary's head
    for step in "${asked[@]}"; do rm -f "$WORK/status/$step"; done  # named: run again
    CALL=$(($(cat "$WORK/calls" 2>/dev/null || echo 0) + 1)) && echo "$CALL" > "$WORK/calls"
    DEADLINE=$SECONDS_ASKED RESERVE=20 B_TESTS=120 B_BENCH=100 B_M2=90 B_MPI=40 EXIT=1 STOPPED=
    trap finish EXIT
    trap 'die "stopped by SIGINT" 130' INT
    trap 'die "stopped by SIGTERM" 143' TERM

    # chainer from the wheel, the repository's code, MNIST from the carried files, no download
    if [ ! -f "$WORK/site/chainer/__init__.py" ]; then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$WORK/site" \
            "$PREPARED"/wheels/*.whl > "$WORK/logs/install.log" 2>&1 \
            || die "pip install of the wheels failed: $(last_line "$WORK/logs/install.log")"
    fi
    mkdir -p "$WORK/dataset/chainer_vae" && ln -sfn "$PREPARED/shared/mnist" "$WORK/dataset/chainer_vae/mnist"
    local gpus=0
    ((GPU < 0)) || gpus=$(nvidia-smi -L | wc -l)
    # CHAINER_TEST_GPU_LIMIT: chainer's multi-GPU cases skip past this machine's GPUs
    export PYTHONPATH=$WORK/site:$REPO${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 \
        CHAINER_DATASET_ROOT=$WORK/dataset CHAINER_VAE_MNIST_MIRRORS='' \
        CHAINER_VAE_SHARED=$PREPARED/shared MPLBACKEND=Agg CHAINER_TEST_GPU_LIMIT=$gpus \
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    if ((GPU >= 0)); then  # CuPy sees the GPU: else chainer_vae.gpu's one line
        local why
        why=$("$PY" -c 'import sys, chainer_vae; from chainer_vae import gpu
try:
    gpu.array_module(int(sys.argv[1]))
except gpu.GPUError as e:
    sys.exit(str(e))' "$GPU" 2>&1) || die "$(tail -n 1 <<<"$why")"
    fi

    pending versions && step_versions
    local later=0
    pending tests || pending resume && later=$((later + B_TESTS))
    pending bench && later=$((later + B_BENCH))
    pending m2 && later=$((later + B_M2))
    pending legacy && step_legacy $(($(left) - later))
    { pending tests || pending resume; } && step_tests
    pending bench && step_bench
    pending m2 && step_m2
    pending legacy && step_legacy "$(left)"
    pending legacy || { pending mpi && step_mpi; }
    exit "$EXIT"  # finish packs (trap)
}

if [ "${1:-}" = --prepare ]; then
    shift
    prepare "$@"
else
    gpu_half "$@"
fi
