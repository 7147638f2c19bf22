"""The emulated MCU as a runtime of ``rill test``: the lib tests on qemu Cortex-M firmwares.

``RILL_QEMU=subset`` (``make test``) runs the modules of ``SUBSET`` on the Cortex-M3
(MPS2_AN385, thumb-2 native emitter) and ``M0_MODULES`` on the Cortex-M0 (MICROBIT, no
native emitter); ``RILL_QEMU=all`` (``make test-mcu``) every lib test module on the M3.
The firmware (tools/rill_host/build/firmware.py, cached) has rill, testkit, the runner and the test
modules frozen; its heap (MICROPY_HEAP_SIZE) is the budget of the tests' board (ini
``rill_board``), or a module's own ``MP_HEAPSIZE`` (a firmware and a qemu of its own). One qemu
process per runtime serves the session; each test is a soft reset (Ctrl-D) and a
two-line script in raw-paste mode, through MicroPython's own tools/pyboard.py over the
emulated UART (``execpty:``), as MicroPython's test runner drives its qemu target.
A test that takes a host fixture (a broker, tmp_path, ...) or is listed in ``EXCLUDED``
is skipped with its reason. Without qemu, the toolchain or a MicroPython source, one
line says so and the qemu runtimes are left out.
"""
import importlib.util
import inspect
import json
import os
import subprocess
import sys

import pytest

from rill_host import BOARDS, MP_DIR, ROOT

M3, M0 = "qemu-cortex-m3", "qemu-cortex-m0"
RUNTIMES = (M3, M0)
MACHINES = {M3: "-machine mps2-an385", M0: "-machine microbit -global nrf51-soc.flash-size=1048576 "
                                            "-global nrf51-soc.sram-size=262144"}
LOCAL = ("clock", "board", "replay")
# make test: dispatch, buffers, filters, the heap-locked allocation tests, MQTT packet code
SUBSET = ("test_alloc", "test_buffers", "test_codegen", "test_core", "test_filters", "test_filters_alloc",
          "test_filters_value", "test_filters_window", "test_graph", "test_mqtt_units")
M0_MODULES = ("test_buffers", "test_codegen", "test_core", "test_graph")  # dispatch and buffers
HELPERS = ("fastpath", "floats", "packets")  # host_tests/lib modules that are not tests: frozen for every runtime
NO_FS = "writes and reads files (the firmware has no writable filesystem)"
TREE = "reads the repository's files (boards/, README.md, docs/, lib/): the MCU has only what is frozen"
EXCLUDED = {  # "module" or "module::test": why it cannot run on the emulated MCU
    "test_io_source": NO_FS,
    "test_mqtt_spill": NO_FS + ": the spill log",
    "test_status::test_the_outbox_part_shows_ram_and_flash_backlog_oldest_age_and_drops": NO_FS + ": the spill log",
    "test_boards::test_every_board_folder_has_a_valid_board_file": TREE,
    "test_boards::test_the_validator_catches_bad_pins": TREE,
    "test_boards::test_loader_facts_agree_with_the_mcu_table": TREE,
    "test_core::test_the_core_has_no_import_cycles": TREE,
    "test_examples": TREE,
    "test_config::test_load_reads_the_file_and_load_once_unloads_the_checker": NO_FS + ": a config.json",
    "test_mqtt_discovery::test_the_build_identity_is_in_the_software_version": NO_FS + ": build.json",
    "test_identity::test_missing_or_broken_build_json_is_unknown": NO_FS + ": build.json",
    "test_identity::test_load_short_and_differs": NO_FS + ": build.json",
    "test_identity::test_capture_header_carries_the_identity": NO_FS + ": build.json",
    "test_io_replay::test_replay_is_byte_identical": NO_FS + ": a capture",
    "test_io_replay::test_a_record_the_sink_refuses_still_goes_on": NO_FS + ": a capture",
    "test_io_checked": NO_FS + ": a capture",
    "test_mqtt_lifecycle::test_a_certificate_refusal_on_a_board_without_a_clock_says_so":
        "TLS: the qemu firmware has no ssl module",
}
EXCLUDED.update({"test_io_sink::" + t: NO_FS + ": a sink's file" for t in (  # all but the framing test
    "test_round_trip_and_batching", "test_flush_after_flush_ms_whichever_first", "test_power_cut_at_every_byte",
    "test_corrupt_and_too_long_lines_are_skipped_and_counted", "test_rotation_caps_the_size",
    "test_a_record_too_long_is_the_taps_dead_letter",
    "test_a_failed_write_keeps_the_batch_and_drops_what_finds_it_full",
    "test_a_value_json_cannot_hold_is_refused_or_skipped")})
EXCLUDED.update({
    "test_mqtt_units::test_sequence_only_increases_across_restarts_and_counts_boots": NO_FS + ": the store",
    "test_mqtt_units::test_a_power_cut_at_every_step_of_a_write_never_reuses_a_number": NO_FS + ": the store",
    "test_mqtt_units::test_a_corrupt_store_refuses_instead_of_restarting_at_zero": NO_FS + ": the store",
    "test_mqtt_units::test_the_bridge_persists_sequence_numbers_by_default": NO_FS + ": the store",
})
# On the Cortex-M0 (224 KB heap), as well: the test's own text generation and compiling
M0_EXCLUDED = {"test_codegen::" + t: "generates and compiles on the device the text of fast paths that the host "
               "builds for a board (test code, texts of 20 KB and more), which needs more than the M0's 224 KB; "
               "the M0 runs the bytecode fast path of the smaller graphs in the other test_codegen tests"
               for t in ("test_the_fast_path_dispatches_as_the_reference_on_random_graphs",
                         "test_neither_allocates_per_record_under_heap_lock",
                         "test_a_long_chain_deeper_than_the_compiler_nests")}
TIMEOUT_S = 60
MAX_HEAP = {M0: 224 * 1024}  # MICROBIT has 256 KB of RAM in all (MPS2_AN385: 4 MB)


def mode():
    """"subset", "all", or None (RILL_QEMU unset or off)."""
    m = os.environ.get("RILL_QEMU", "").strip().lower()
    return m if m in ("subset", "all") else None


def candidates(path):
    """The qemu runtimes a lib test module runs on in this session's mode."""
    m = mode()
    name = os.path.basename(str(path))[:-3]
    if not m or os.path.basename(os.path.dirname(str(path))) != "lib":
        return []
    return [rt for rt, mods in ((M3, None if m == "all" else SUBSET), (M0, M0_MODULES)) if mods is None or name in mods]


def skip_reason(item, runtime=M3):
    """Why ``item`` does not run on the emulated MCU ``runtime``, or None."""
    module = os.path.basename(str(item.path))[:-3]
    for key in (module + "::" + item.originalname, module):
        if key in EXCLUDED:
            return EXCLUDED[key]
        if runtime == M0 and key in M0_EXCLUDED:
            return M0_EXCLUDED[key]
    host = [n for n in inspect.signature(item.obj).parameters if n not in LOCAL]
    if host:
        return "takes the host fixture %s (no host objects over the emulated UART)" % ", ".join(host)
    return None


# rill_host.build.firmware in a process of its own (its build output stays off pytest's)
_BUILD = """import json, os, sys
from rill_host.build import firmware
from rill_host.common import CliError
from rill_host.build.packages import Model
target, heap, extra = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
miss = firmware.missing_tools(target)
try:
    if miss:
        raise CliError("missing " + ", ".join(miss))
    elf = firmware.build(target, heap=heap, packages=sorted(Model().packages()), extra=extra)
    print(json.dumps({"elf": elf, "tree": firmware.source()[0]}))
except CliError as e:
    print(json.dumps({"error": str(e)}))
"""


class Device:
    """One qemu process running a firmware, driven by the source's tools/pyboard.py."""

    def __init__(self, runtime, elf, tree):
        spec = importlib.util.spec_from_file_location("rill_host._pyboard", os.path.join(tree, "tools", "pyboard.py"))
        pyboard = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(pyboard)
        self.error = pyboard.PyboardError
        cmd = "execpty:qemu-system-arm %s -nographic -monitor null -semihosting -serial pty -kernel %s" % (
            MACHINES[runtime], elf)
        self.board = pyboard.Pyboard(cmd)

    def run(self, script, timeout):
        """(stdout, exception text) of ``script`` after a soft reset."""
        self.board.enter_raw_repl(soft_reset=True)
        return self.board.exec_raw(script.encode(), timeout=timeout)

    def close(self):
        try:
            self.board.close()
        except Exception:  # qemu already gone
            pass


class Session:
    """The qemu runtimes of one pytest session: firmwares built once, devices started on first use."""

    def __init__(self, board_id):
        self.board_id = board_id
        self.ready = {}  # (runtime, heap) -> {"elf", "tree"} or {"error"}
        self.devices = {}

    def _board_json(self):
        with open(os.path.join(BOARDS, self.board_id, "board.json"), "rb") as f:
            return f.read()

    def _files(self):
        """A module of the files the tests read as a device would (boards/<ID>/board.json),
        written for freezing: {path: bytes}, served by mp/qemu_side.py's Files."""
        files = {}
        boards = BOARDS
        for b in sorted(os.listdir(boards)):
            if os.path.exists(os.path.join(boards, b, "board.json")):
                with open(os.path.join(boards, b, "board.json"), "rb") as f:
                    files["/boards/%s/board.json" % b] = f.read()
        path = os.path.join(ROOT, "build", "qemu", "_rill_files.py")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("# Written by rill_host/testing/qemu.py for the qemu firmware: do not edit.\nFILES = %r\n" % files)
        return path

    def heap(self, module=None):
        """Bytes of heap: the module's MP_HEAPSIZE ("256K"), else the board's heap_budget_kb."""
        size = getattr(module, "MP_HEAPSIZE", None)
        if size:
            return int(size[:-1]) * 1024 if size[-1] in "kK" else int(size)
        return json.loads(self._board_json())["heap_budget_kb"] * 1024

    def prepare(self, runtime, heap=None):
        """{"elf", "tree"} or {"error": one sentence}; builds the firmware on first call."""
        heap = heap or self.heap()
        if (runtime, heap) not in self.ready:
            lib = os.path.join(ROOT, "host_tests", "lib")
            mods = [f[:-3] for f in sorted(os.listdir(lib)) if f.endswith(".py")]
            if runtime == M0:
                mods = M0_MODULES + HELPERS
            extra = [[os.path.join(MP_DIR, "testkit.py"), "testkit.py"],
                     [os.path.join(MP_DIR, "runner.py"), "_rill_runner.py"],
                     [os.path.join(MP_DIR, "qemu_side.py"), "_rill_qemu.py"]]
            extra += [[os.path.join(lib, m + ".py"), m + ".py"] for m in mods] + [[self._files(), "_rill_files.py"]]
            proc = subprocess.run([sys.executable, "-c", _BUILD,
                                   "qemu-cortex-m0" if runtime == M0 else "qemu-cortex-m3", str(heap),
                                   json.dumps(extra)], capture_output=True, text=True)
            try:
                info = json.loads(proc.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                info = {"error": "firmware build crashed: %s" % (proc.stderr.strip()[-300:])}
            info["heap_kb"] = heap // 1024
            self.ready[runtime, heap] = info
        return self.ready[runtime, heap]

    def run(self, item, runtime):
        why = skip_reason(item, runtime)
        if why:
            pytest.skip(why)
        heap = min(self.heap(item.module), MAX_HEAP.get(runtime, 1 << 30))
        info = self.prepare(runtime, heap)
        if "error" in info:
            pytest.skip("%s: %s" % (runtime, info["error"]))
        device = self.devices.get((runtime, heap))
        if device is None:
            device = self.devices[runtime, heap] = Device(runtime, info["elf"], info["tree"])
        spec = [[n, n, self.board_id if n == "board" else None] for n in inspect.signature(item.obj).parameters]
        script = "import _rill_qemu\n_rill_qemu.run(%r, %r, %r)\n" % (
            os.path.basename(str(item.path))[:-3], item.originalname, spec)
        try:
            out, err = device.run(script, getattr(item.module, "MP_TIMEOUT_S", TIMEOUT_S))
        except device.error as e:  # timeout or a broken REPL: restart qemu for the next test
            device.close()
            del self.devices[runtime, heap]
            pytest.fail("%s: %s" % (runtime, e), pytrace=False)
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        if err or "\x02result pass" not in out:
            hint = ""
            if "MemoryError" in err:
                hint = "\nThe firmware's heap is %d KB (MP_HEAPSIZE, else heap_budget_kb of %s).\n" % (
                    info["heap_kb"], self.board_id)
            pytest.fail("%s:\n%s%s%s" % (runtime, out, err, hint), pytrace=False)

    def runtimes_for(self, path):
        """The qemu runtimes ``path``'s tests run on: its candidates whose firmware is ready."""
        return [rt for rt in candidates(path) if "error" not in self.prepare(rt)]

    def summary(self):
        """One line per reason a qemu runtime could not run (what is missing, and how to get it)."""
        why = {}
        for (rt, _), info in sorted(self.ready.items()):
            if "error" in info:
                why.setdefault(info["error"], []).append(rt)
        return ["runtime=%s not run: %s" % ("/".join(sorted(set(rts))), e) for e, rts in why.items()]

    def close(self):
        for d in self.devices.values():
            d.close()
        self.devices.clear()
