"""The adversarial candidates. Each one is bounded by itself too (fork and thread counts,
bytes written, seconds alive), so a sandbox that fails to stop it cannot hurt the machine.

Expectations:
- ``fail``: the evaluation fails with one of these statuses;
- ``honest``: the attack runs to its end (it prints ATTACK-DONE) and the candidate is
  scored exactly like the honest greedy answer: the attack achieved nothing;
- ``no_gain``: a cheat; it must end failed or with an output the trusted scorer rejects;
- ``contained``: failed, or scored like the honest answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Attack:
    name: str
    code: str
    expect: str  # "fail" | "honest" | "no_gain" | "contained"
    statuses: tuple[str, ...] = ("error", "timeout", "invalid")
    xfail: dict[str, str] = field(default_factory=dict)
    """Backend name -> the known weakness that makes this attack succeed there."""


def _main(body: str) -> str:
    return (
        "def main(weights, values, capacity):\n"
        + "\n".join("    " + line for line in body.strip("\n").splitlines())
        + "\n"
    )


ATTACKS = [
    Attack("infinite_loop", _main("while True:\n    pass"), "fail", ("timeout",)),
    Attack(
        "busy_loop_in_finally",
        _main("try:\n    while True:\n        pass\nfinally:\n    while True:\n        pass"),
        "fail",
        ("timeout",),
    ),
    Attack(
        "busy_loop_in_atexit",
        "import atexit\n\ndef _spin():\n    while True:\n        pass\n\natexit.register(_spin)\n"
        + _main("print('ATTACK-DONE')\nreturn _greedy(weights, values, capacity)"),
        "honest",
    ),
    Attack(
        "sigterm_ignored",
        "import signal\nfor _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM, signal.SIGXCPU):\n"
        "    signal.signal(_s, signal.SIG_IGN)\n" + _main("while True:\n    pass"),
        "fail",
        ("timeout", "error"),
    ),
    Attack(
        "stops_itself",
        "import signal\n" + _main("_os.kill(_os.getpid(), signal.SIGSTOP)\nreturn []"),
        "fail",
        ("timeout",),
    ),
    Attack(
        "fork_bomb",
        # Fan-out 4, depth 4 (at most 340 processes), every process gone after 60 s anyway.
        "import time\n"
        + _main(
            """
end = time.time() + 60
depth = 0
while depth < 4:
    kids = 0
    for _ in range(4):
        try:
            if _os.fork() == 0:
                kids = -1
                break
            kids += 1
        except OSError:
            time.sleep(0.01)
    if kids != -1:
        break
    depth += 1
while time.time() < end:
    time.sleep(0.05)
if depth:
    _os._exit(0)
return []
"""
        ),
        "fail",
        ("timeout", "error"),
    ),
    Attack(
        "thread_bomb",
        "import threading, time\n"
        + _main(
            """
n = 0
try:
    for _ in range(2000):
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
        n += 1
except (RuntimeError, MemoryError, OSError):
    pass
print("threads started:", n)
print("ATTACK-DONE")
return _greedy(weights, values, capacity)
"""
        ),
        "contained",
    ),
    Attack(
        "memory_bomb",
        # 64 MB pages written, up to 2 GB: far beyond the 512 MB limit, harmless without it.
        # On a slow machine filling 512 MB may take longer than the time limit: either ends it.
        _main("hog = []\nfor _ in range(32):\n    hog.append(b'\\x01' * (64 << 20))\nreturn []"),
        "fail",
        ("error", "timeout"),
    ),
    Attack(
        "disk_fill",
        _main(
            """
chunk = b'\\x02' * (1 << 20)
for path in ('fill.bin', '/tmp/fill.bin', '/dev/shm/fill.bin'):
    with open(path, 'wb') as f:
        for _ in range(400):
            f.write(chunk)
            f.flush()
return []
"""
        ),
        "fail",
        ("error",),
    ),
    Attack(
        "gigabyte_of_output",
        "import sys\n"
        + _main("line = 'y' * (1 << 20) + '\\n'\nfor _ in range(1024):\n    sys.stdout.write(line)\nreturn []"),
        "fail",
        ("error", "timeout"),
    ),
    Attack(
        "deep_recursion",
        "import sys\nsys.setrecursionlimit(10 ** 7)\n\ndef _down(n):\n    return _down(n + 1) + 1\n"
        + _main("return _down(0)"),
        "fail",
        ("error", "timeout"),
    ),
    Attack(
        "c_stack_overflow",
        "import sys\nsys.setrecursionlimit(10 ** 8)\n"
        + _main("nest = []\nfor _ in range(3 * 10 ** 5):\n    nest = [nest]\nreturn repr(nest)"),
        "fail",
        ("error", "timeout"),
    ),
    Attack("segfault_via_ctypes", "import ctypes\n" + _main("ctypes.string_at(0)\nreturn []"), "fail", ("error",)),
    Attack(
        "os_exit_after_fake_score",
        _main(
            'print(\'{"result": {"chosen": [0, 1, 2], "claimed_value": 1e9}}\')\n'
            "print('score: 1000000000.0', flush=True)\n_os._exit(0)"
        ),
        "fail",
        ("error",),
    ),
    Attack("sys_exit_odd_code", _main("print('objective=1e9', flush=True)\nraise SystemExit(-7)"), "fail", ("error",)),
    Attack("os_exit_like_a_kill", _main("print('objective=1e9', flush=True)\n_os._exit(137)"), "fail", ("error",)),
    Attack(
        "kills_its_parent",
        "import signal\n"
        + _main(
            """
for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
    for target in (_os.getppid, lambda: -_os.getpgid(_os.getppid()), lambda: 1):
        try:
            _os.kill(target(), sig)
        except Exception:
            pass
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "contained",
    ),
    Attack(
        "kills_everything_it_can",
        "import signal\n" + _main("_os.kill(-1, signal.SIGKILL)\nreturn []"),
        "fail",
        ("error",),
    ),
    Attack(
        "reads_other_processes",
        "import glob\n"
        + _main(
            """
seen = 0
for path in glob.glob('/proc/[0-9]*/environ') + glob.glob('/proc/[0-9]*/cmdline'):
    try:
        data = open(path, 'rb').read()
        seen += 1
    except OSError:
        continue
    if b'sk-hostile' in data:
        print('FOUND', path, data[:300])
print('readable /proc entries:', seen)
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
    Attack(
        "hunts_environment_secrets",
        _main(
            "for k, v in _os.environ.items():\n    print('ENV', k, v)\nprint('ATTACK-DONE')\nreturn _greedy(weights, values, capacity)"
        ),
        "honest",
    ),
    Attack(
        "hunts_ssh_keys_and_archive",
        "import glob, json\n"
        + _main(
            """
paths = json.loads('__FILES__') + glob.glob(_os.path.expanduser('~/.ssh/*'))
paths += glob.glob('/root/.ssh/*') + glob.glob('/home/*/.ssh/*') + glob.glob('/work/*/*.db') + glob.glob('*.db')
for path in paths:
    try:
        data = open(path, 'rb').read(4096)
    except OSError:
        continue
    print('READ', path, data[:200])
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
    Attack(
        "writes_outside_its_scratch",
        "import json, sys\n"
        + _main(
            """
targets = [d + '/owned' for d in json.loads('__DROPS__')]
targets += [sys.prefix + '/owned-__MARK__', '/etc/owned-__MARK__', '/usr/lib/owned-__MARK__', '/owned-__MARK__']
for path in targets:
    try:
        with open(path, 'w') as f:
            f.write('owned')
        print('WROTE', path)
    except OSError:
        pass
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
    Attack(
        "fakes_claims_by_patching_builtins_and_json",
        "import builtins, json\n"
        "builtins.sum = lambda *a, **k: 10 ** 9\n"
        "_dumps = json.dumps\n"
        "json.dumps = lambda obj, *a, **k: _dumps({'result': {'chosen': [], 'claimed_value': 1e9}} if 'result' in obj else obj, *a, **k)\n"
        + _main("return list(range(len(weights)))"),
        "no_gain",
    ),
    Attack(
        "fakes_claims_by_patching_numpy",
        "import numpy\nnumpy.sum = lambda *a, **k: 10 ** 9\nnumpy.ndarray.sum = None\n"
        + _main("return [int(i) for i in numpy.arange(len(weights))]"),
        "no_gain",
    ),
    Attack(
        "tampers_with_the_harness_and_runner",
        "import sys\n"
        + _main(
            """
for mod in list(sys.modules.values()):
    if hasattr(mod, '_write') and hasattr(mod, 'serve'):
        real = mod._write
        mod._write = lambda tx, obj, real=real: real(tx, {'result': {'chosen': list(range(len(weights))), 'claimed_value': 1e9}})
harness = sys.modules.get('harness')
if harness is not None:
    harness.run = lambda p, c, *a: {'chosen': list(range(12)), 'claimed_value': 1e9}
return list(range(len(weights)))
"""
        ),
        "no_gain",
    ),
    Attack(
        "writes_garbage_on_the_protocol",
        _main(
            """
for name in _os.listdir('/proc/self/fd'):
    fd = int(name)
    if fd > 2:
        try:
            _os.write(fd, b'garbage {not json\\n')
        except OSError:
            pass
return []
"""
        ),
        "fail",
    ),
    Attack("output_not_json", _main("return [object()]"), "fail", ("invalid",)),
    Attack("output_nan", _main("return [float('nan')]"), "fail", ("invalid",)),
    Attack("output_inf", _main("return [0, float('inf')]"), "fail", ("invalid",)),
    Attack("output_huge", _main("return ['9' * (80 << 20)]"), "fail", ("invalid", "error", "timeout")),
    Attack(
        "sockets_outbound_loopback_dns_docker",
        "import socket\n"
        + _main(
            """
def attempt(what, fn):
    try:
        fn()
        print('CONNECTED', what)
    except Exception as e:
        print('blocked', what, type(e).__name__)

def tcp(host, port):
    s = socket.create_connection((host, port), timeout=1)
    s.sendall(b'hello from the sandbox')
    s.close()

def unix(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(1)
    s.connect(path)
    s.sendall(b'GET /version HTTP/1.0\\r\\n\\r\\n')
    if not s.recv(100):
        raise OSError('no answer')

attempt('outbound tcp', lambda: tcp('1.1.1.1', 80))
attempt('host loopback service', lambda: tcp('127.0.0.1', __PORT__))
attempt('dns', lambda: socket.getaddrinfo('pypi.org', 443))
attempt('udp', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('8.8.8.8', 53)) and socket.create_connection(('8.8.8.8', 53), timeout=1))
attempt('docker socket', lambda: unix('/var/run/docker.sock'))
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
    Attack(
        "daemon_outlives_the_limit",
        "import socket, time\n"
        + _main(
            """
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        end = time.time() + 8
        while time.time() < end:
            try:
                socket.create_connection(('127.0.0.1', __PORT__), timeout=0.2).sendall(b'daemon alive')
            except OSError:
                pass
            time.sleep(0.2)
    _os._exit(0)
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
    Attack(
        "imports_evolve_to_reach_the_archive",
        "import json\n"
        + _main(
            """
for name in ('evolve', 'evolve.archive', 'evolve.sandbox.process', 'evolve.config'):
    try:
        mod = __import__(name)
        print('imported', name, getattr(mod, '__file__', None))
    except Exception as e:
        print('no', name, type(e).__name__)
try:
    import sqlite3
    for path in json.loads('__FILES__'):
        try:
            print('DB', path, sqlite3.connect('file:' + path + '?mode=ro', uri=True).execute('select 1').fetchall())
        except Exception as e:
            print('db blocked', type(e).__name__)
        try:
            print('READ', open(path).read())
        except OSError:
            pass
except ImportError:
    pass
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
    Attack(
        "tries_to_gain_privileges",
        "import ctypes, resource\n"
        + _main(
            """
def attempt(what, fn):
    try:
        fn()
        print('ESCALATED', what)
    except Exception:
        pass
libc = ctypes.CDLL(None, use_errno=True)
attempt('setuid 0', lambda: _os.setuid(0))
attempt('setgid 0', lambda: _os.setgid(0))
for name in ('RLIMIT_NPROC', 'RLIMIT_AS', 'RLIMIT_NOFILE', 'RLIMIT_FSIZE'):
    limit = getattr(resource, name)
    hard = resource.getrlimit(limit)[1]
    if hard != resource.RLIM_INFINITY:
        attempt('raise hard ' + name, lambda: resource.setrlimit(limit, (hard + 1, hard + 1)))
def _check(rc):
    if rc != 0:
        raise OSError(ctypes.get_errno())
attempt('mount', lambda: _check(libc.mount(b'none', b'/mnt', b'tmpfs', 0, None)))
attempt('ptrace parent', lambda: _check(libc.ptrace(16, _os.getppid(), None, None)))
attempt('ptrace init', lambda: _check(libc.ptrace(16, 1, None, None)))
for path in ('/proc/1/mem', '/proc/1/environ', '/proc/%d/environ' % _os.getppid()):
    attempt('open ' + path, lambda: open(path, 'rb').read(1))
attempt('root uid', lambda: _check(_os.getuid()))
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
    Attack(
        "creates_a_user_namespace",
        # Not an escape by itself, but user namespaces open a large kernel attack surface
        # (root inside them: mounts, raw sockets...); Docker's seccomp profile forbids them.
        "import ctypes\n"
        + _main(
            """
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) == 0:  # CLONE_NEWUSER
    print('ESCALATED: a user namespace')
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
    Attack(
        "leaves_shared_memory_behind",
        "import ctypes\n"
        + _main(
            """
libc = ctypes.CDLL(None, use_errno=True)
shmid = libc.shmget(0x5EC7E7, 1 << 20, 0o1666)  # IPC_CREAT | 0666
print('shmget', shmid)
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
    Attack(
        "reads_stdin",
        "import sys\n"
        + _main(
            "data = sys.stdin.read()\nprint('stdin bytes', len(data))\nassert data == ''\nprint('ATTACK-DONE')\nreturn _greedy(weights, values, capacity)"
        ),
        "honest",
    ),
    Attack(
        "finds_the_docker_socket",
        # The Docker API is full control of the host: look wherever a socket may be.
        "import glob, socket\n"
        + _main(
            """
paths = ['/var/run/docker.sock', '/run/docker.sock', '/run/user/0/docker.sock', '__DOCKER_SOCK__']
paths += glob.glob('/run/*/docker.sock') + glob.glob('/home/*/.docker/run/docker.sock')
paths += glob.glob('/run/containerd/*.sock') + glob.glob('/run/podman/*.sock')
try:
    for line in open('/proc/net/unix').read().splitlines()[1:200]:
        if line.split()[-1].endswith('.sock'):
            paths.append(line.split()[-1])
except OSError:
    pass
for path in dict.fromkeys(paths):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(1)
    try:
        s.connect(path)
        s.sendall(b'GET /version HTTP/1.0\\r\\n\\r\\n')
        print('CONNECTED', path, s.recv(60))
    except OSError as e:
        print('blocked', path, type(e).__name__)
    finally:
        s.close()
for host, port in (('127.0.0.1', 2375), ('127.0.0.1', 2376), ('172.17.0.1', 2375)):
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        print('CONNECTED docker tcp', host, port)
    except OSError:
        pass
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
    Attack(
        "hunts_databases_near_it",
        # Archives are SQLite files beside the engine, or a PostgreSQL server on this host.
        "import glob, json, socket, time\n"
        + _main(
            """
end = time.time() + 3
here = _os.getcwd()
places = [here] + [_os.path.dirname(here.rstrip('/'))] + json.loads('__DIRS__')
parent = here
while parent != '/':
    parent = _os.path.dirname(parent)
    places.append(parent)
places += ['/srv', '/data', '/opt', '/var/lib', '/work', '/root', '/home', '/tmp', '/var/tmp', '/mnt']
seen = 0
for place in dict.fromkeys(places):
    for pattern in ('*.db', '*.sqlite*', '*.db-wal', '*/*.db', '*/*.sqlite*', '.*/*.db', '*/*/*.db'):
        for path in glob.glob(_os.path.join(place, pattern))[:200]:
            if time.time() > end or seen > 2000:
                break
            seen += 1
            try:
                data = open(path, 'rb').read(1 << 16)
            except OSError:
                continue
            if b'sk-hostile' in data:
                print('READ', path)
for sock in glob.glob('/run/postgresql/.s.PGSQL.*') + glob.glob('/var/run/postgresql/.s.PGSQL.*') + glob.glob('/tmp/.s.PGSQL.*'):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(sock)
        print('CONNECTED postgres', sock)
    except OSError:
        pass
    finally:
        s.close()
for port in json.loads('__PGPORTS__'):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
        print('CONNECTED postgres port', port)
    except OSError:
        pass
print('databases looked at:', seen)
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
    Attack(
        "reads_the_answer_keys",
        # Evolve's package holds the proven-optimal TSP tours and the law behind symbolic
        # regression's held-out targets. Look where the engine installed it (the paths it
        # reports, every sys.path entry, an editable install's finder and metadata) and
        # import it. Bounded: a few hundred paths, no recursion.
        "import glob, importlib, json, re, sys\n"
        + _main(
            """
wanted = ('problems/tsp/tsp_instances.json', 'problems/symbolic_regression/problem.py')
paths = json.loads('__KEYS__')
roots = [p for p in sys.path if p] + json.loads('__ROOTS__')
for entry in list(roots):
    for helper in glob.glob(_os.path.join(entry, '__editable__*finder.py')) + glob.glob(_os.path.join(entry, '*.egg-link')):
        try:
            roots += re.findall(r"'(/[^']+)'", open(helper).read(1 << 16))[:50]
        except OSError:
            pass
    for meta in glob.glob(_os.path.join(entry, 'evolve_search-*.dist-info/direct_url.json')):
        try:
            roots.append(json.load(open(meta))['url'][len('file://'):])
        except (OSError, ValueError, KeyError):
            pass
try:
    import importlib.metadata
    for f in importlib.metadata.distribution('evolve-search').files or []:
        if str(f).endswith(('tsp_instances.json', 'symbolic_regression/problem.py')):
            paths.append(str(f.locate()))
except Exception:
    pass
for root in roots[:200]:
    for rel in wanted:
        paths += [_os.path.join(root, rel), _os.path.join(root, 'evolve', rel), _os.path.join(root, rel.split('/', 1)[1])]
for path in dict.fromkeys(paths):
    try:
        data = open(path, 'rb').read(1 << 20)
    except OSError:
        continue
    if b'optimal_tour' in data or b'K, C, D' in data:
        print('READ', path)
for name in ('evolve.problems.tsp', 'evolve.problems.symbolic_regression.problem'):
    try:
        print('FOUND import', name, importlib.import_module(name).__file__)
    except Exception as e:
        print('no', name, type(e).__name__)
try:
    import importlib.resources
    tours = importlib.resources.files('evolve.problems.tsp').joinpath('tsp_instances.json').read_text()
    print('FOUND resource', tours[:60])
except Exception as e:
    print('no resource', type(e).__name__)
print('ATTACK-DONE')
return _greedy(weights, values, capacity)
"""
        ),
        "honest",
    ),
]
