"""The progress line: on a terminal's stderr, rewritten in place; nothing through a pipe;
stdout the notebook's, byte for byte, either way."""
import fcntl
import io
import os
import re
import pty
import shlex
import struct
import subprocess
import termios

from chainer_vae import progress
from helpers import REPO, cli_command


def run(out, stderr):
    command, env = cli_command(['--dataset', 'sample', '--seed', '0', '--epoch', '2', '-o', out])
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, cwd=REPO, env=env)


def read_all(fd):
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except OSError:  # EIO: the other end has closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b''.join(chunks)


def test_a_progress_line_at_a_terminal_and_none_through_a_pipe(tmp_path):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 100, 0, 0))  # 100 columns
    at_terminal = run(tmp_path / 'a', slave)
    os.close(slave)
    shown = read_all(master).decode(errors='replace')
    os.close(master)
    terminal_out = at_terminal.stdout.read()
    assert at_terminal.wait(timeout=300) == 0

    piped = run(tmp_path / 'b', subprocess.PIPE)
    piped_out, piped_err = piped.communicate(timeout=300)
    assert piped.returncode == 0 and piped_err == b''  # no progress through a pipe

    assert terminal_out == piped_out  # the legacy lines, byte for byte
    assert terminal_out.startswith(b'epoch 1\ngraph generated\ntrain mean loss=')
    assert '\r' in shown  # rewritten in place
    # tqdm redraws at most ten times a second: which batches show depends on the speed
    drawn = re.findall(r'epoch (\d)/2, batch (\d+)/40 [^\r]*? ([\d.]+) s/epoch \| [\d:?]+ left',
                       shown)
    assert {epoch for epoch, _, _ in drawn} == {'1', '2'}, shown[-500:]
    assert all(1 <= int(batch) <= 40 for _, batch, _ in drawn)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_next_step_names_the_run_at_a_terminal_alone(tmp_path):
    shown = Terminal()
    progress.next_step('my runs/demo', shown)
    line = shown.getvalue()
    assert line.count('\n') == 1 and line.startswith('next: ')
    commands = [shlex.split(part.split('(')[0]) for part in line[len('next: '):].split(', ')]
    assert commands == [['python', '-m', 'chainer_vae.visualize', 'my runs/demo'],
                        ['python', '-m', 'chainer_vae.compare', 'my runs/demo']]
    logged = io.StringIO()  # a log file or a pipe: nothing
    progress.next_step('demo', logged)
    assert logged.getvalue() == ''
