# A stdout callback for tests/e2e/ansible.sh: the whole run as one JSON document on stdout,
# {"plays": [{"play": {"name"}, "tasks": [{"task": {"name", "role"}, "hosts": {HOST: result}}]}],
#  "stats": {HOST: {"ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored"}}}
# where a result is the module's result dict, with "failed" or "unreachable" set to true when
# that is how the task ended on that host. Debian 12's ansible-core ships no JSON callback (it
# lives in the ansible.posix collection); the test needs one to read results without parsing
# screen text. Test support only: the generated playbooks do not use it.
# Enabled with ANSIBLE_CALLBACK_PLUGINS=<this folder> ANSIBLE_STDOUT_CALLBACK=kf_json.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
    name: kf_json
    type: stdout
    short_description: the run as one JSON document (kubeferry's e2e test)
    description: Prints plays, tasks, per-host results and the final stats as JSON at the end.
'''

import json

from ansible.module_utils.common.json import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'kf_json'

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display)
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name()}, 'tasks': []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        # The task's own name; a role's tasks also say which role ("role" is "" outside one).
        role = task._role.get_name() if task._role else ''
        self.plays[-1]['tasks'].append({'task': {'name': task.name, 'role': role}, 'hosts': {}})

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def _record(self, result, **flags):
        entry = dict(result._result)
        entry.update(flags)
        tasks = self.plays[-1]['tasks'] if self.plays else []
        if tasks:
            tasks[-1]['hosts'][result._host.get_name()] = entry

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_playbook_on_stats(self, stats):
        summary = {host: stats.summarize(host) for host in sorted(stats.processed.keys())}
        self._display.display(json.dumps({'plays': self.plays, 'stats': summary}, cls=AnsibleJSONEncoder,
                                         indent=2, sort_keys=True))
