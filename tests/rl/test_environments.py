"""Grid world, the HTTP adapter against a local AgentGym-style server, multi-turn rollout assembly, and a
multi-turn GRPO run on the tiny random model."""

import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_algorithms import _single_thread, small_rl, tiny_dir, train  # noqa: F401  (fixtures)

from trainpipe.config import RewardConfig
from trainpipe.errors import UserError
from trainpipe.rl import algorithms
from trainpipe.rl.rollout import MultiTurnRollout, TrainpipeGRPOTrainer, environment_dataset, turn_glue
from trainpipe.tasks.environments import GridWorld, HttpEnvironment, environment_factory, parse_move


class VowelEnv:
    """Rewards each reply by the share of its letters that are vowels: varies even across random text."""

    def reset(self, seed):
        self.turns = 0
        return f"Episode {seed}: say something."

    def step(self, action):
        self.turns += 1
        letters = [c for c in action.lower() if c.isalpha()]
        reward = sum(c in "aeiou" for c in letters) / len(letters) if letters else 0.0
        return f"Turn {self.turns} done.", reward, self.turns >= 2


def serve(make_env):
    """An AgentGym-style server on 127.0.0.1: POST /create /reset /step, GET /observation (stdlib only)."""
    envs, last = {}, {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, payload):
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path == "/create":
                envs[len(envs)] = make_env()
                return self._reply({"id": len(envs) - 1})
            if body.get("id") not in envs:
                return self._reply({"error": f"The id {body.get('id')} is not valid."})
            env = envs[body["id"]]
            if self.path == "/reset":
                last[body["id"]] = env.reset(body["data_idx"])
                return self._reply({"id": body["id"], "observation": last[body["id"]], "done": False, "reward": 0})
            observation, reward, done = env.step(body["action"])
            last[body["id"]] = observation
            self._reply({"observation": observation, "reward": reward, "done": done})

        def do_GET(self):
            query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            self._reply(last[int(query["id"][0])])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", envs


@pytest.fixture
def grid_server():
    server, url, envs = serve(lambda: GridWorld(difficulty=2, max_steps=5))
    yield url, envs
    server.shutdown()


def test_parse_move_takes_the_first_direction_word():
    assert parse_move("I go Left, then up") == "left"
    assert parse_move("upward") is None and parse_move("") is None


def test_grid_reset_is_seeded_and_difficulty_sets_the_side():
    a, b = GridWorld(difficulty=3), GridWorld(difficulty=3)
    assert a.reset(7) == b.reset(7) and a.side == 5
    assert a.agent != a.goal and all(0 <= c < 5 for c in a.agent + a.goal)
    assert {GridWorld(1).reset(s) for s in range(20)} != {GridWorld(1).reset(0)}


def walk(env):
    """Moves that take the agent straight to the goal."""
    (x, y), (gx, gy) = env.agent, env.goal
    return ["right" if gx > x else "left"] * abs(gx - x) + ["down" if gy > y else "up"] * abs(gy - y)


def test_grid_step_rewards_are_progress_and_sum_to_one_at_the_goal():
    env = GridWorld(difficulty=3, max_steps=20)
    env.reset(1)
    moves = walk(env)
    results = [env.step(f"Move: {m}") for m in moves]
    assert [done for _, _, done in results] == [False] * (len(moves) - 1) + [True]
    assert results[-1][0] == "You reached the goal."
    assert sum(r for _, r, _ in results) == pytest.approx(1.0)
    assert all(r == pytest.approx(1 / len(moves)) for _, r, _ in results)


def test_grid_penalises_moving_away_and_ignores_non_moves_and_walls():
    env = GridWorld(difficulty=1, max_steps=3)
    env.reset(0)
    env.agent, env.goal, env.start_distance = (0, 0), (2, 2), 4
    assert env.step("left")[1] == 0.0 and env.agent == (0, 0)  # wall: no move, no progress
    observation, reward, done = env.step("hello")
    assert reward == 0.0 and observation.startswith("That is not a move.") and not done
    observation, reward, done = env.step("right")
    assert reward == pytest.approx(0.25) and done  # third move: out of moves
    env.agent = (1, 1)
    assert env.step("up")[1] == pytest.approx(-0.25)


def test_http_adapter_matches_the_local_environment(grid_server):
    url, envs = grid_server
    remote, local = HttpEnvironment(url), GridWorld(difficulty=2, max_steps=5)
    assert remote.reset(3) == local.reset(3)
    for move in walk(local)[:2] + ["nowhere"]:
        assert remote.step(move) == local.step(move)
    assert remote.reset(4) == local.reset(4) and len(envs) == 1  # one server instance, reused across episodes


def test_http_adapter_reads_observation_endpoint_and_reports_errors(grid_server):
    url, _ = grid_server
    env = HttpEnvironment(url)
    env.reset(0)
    assert env._call("/observation", query={"id": env.env_id}).startswith("You are on a 4x4 grid")
    env.env_id = 99
    with pytest.raises(RuntimeError, match="not valid"):
        env.step("up")
    with pytest.raises(UserError, match="environment server http://127.0.0.1:9"):
        HttpEnvironment("http://127.0.0.1:9", timeout=2).reset(0)


def test_environment_registry_validates_config():
    assert isinstance(environment_factory(small_rl(environment="grid", env_difficulty=2))(), GridWorld)
    with pytest.raises(UserError, match="needs rl.env_url"):
        environment_factory(small_rl(environment="http"))
    with pytest.raises(UserError, match="unknown"):
        environment_factory(small_rl(environment="chess"))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"algorithm": "rloo"}, "grpo and ppo only"),
        ({"rewards": [RewardConfig("task")]}, "add {name: env}"),
        ({"env_episodes": 0}, "must each be ≥ 1"),
        # Seeds from 10^6 on belong to collected trajectories and evaluation episodes.
        ({"env_episodes": 10**6 + 1}, "rl.env_episodes=1000001: at most 1000000"),
    ],
)
def test_environment_configs_are_checked_before_loading(overrides, message):
    rl = small_rl(**{"environment": "grid", "rewards": [RewardConfig("env")], **overrides})
    with pytest.raises(UserError, match=re.escape(message)):
        algorithms.check(rl)


def test_turn_glue_of_the_chatml_template(tokenizer):
    assert turn_glue(tokenizer) == ("<|im_end|>\n", "<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n")


def distance_after_reset(env, seed):
    env.reset(seed)
    return env.distance()


class ScriptedRollout(MultiTurnRollout):
    """The rollout with the model's replies scripted, to check how episodes are assembled."""

    def __init__(self, *args, replies, **kwargs):
        super().__init__(*args, **kwargs)
        self.replies = iter(replies)

    def _generate(self, trainer, sequences):
        return [next(self.replies) for _ in sequences]


def test_rollout_alternates_model_turns_and_masked_observations(tokenizer):
    class Trainer:
        eos_token_ids = [tokenizer.eos_token_id]

    factory = lambda: GridWorld(difficulty=1, max_steps=3)  # noqa: E731
    dataset, seeds = environment_dataset(factory, 12)
    far = [s for s in range(12) if distance_after_reset(factory(), s) >= 3][:2]
    probe = factory()
    probe.reset(far[0])
    first, second = walk(probe)[:2]  # two right moves that still leave the goal a move away
    eos = tokenizer.eos_token_id
    replies = [
        tokenizer.encode(first, add_special_tokens=False) + [eos],  # far[0], turn 0 (closed)
        tokenizer.encode("stay", add_special_tokens=False),  # far[1], turn 0 (cut off)
        tokenizer.encode(second, add_special_tokens=False) + [eos],
    ] + [[eos]] * 3
    rollout = ScriptedRollout(factory, seeds, tokenizer, max_turns=3, turn_tokens=8, replies=replies)
    out = rollout([dataset[far[0]]["prompt"], dataset[far[1]]["prompt"]], Trainer())
    steps, mask, ids = out["token_step"][0], out["env_mask"][0], out["completion_ids"][0]
    assert [m for m in mask] == [1 if s >= 0 else 0 for s in steps] and steps[0] == 0 and 1 in steps
    text = tokenizer.decode(ids)
    assert text.startswith(f"{first}<|im_end|>\n<|im_start|>user\nYou are at ")
    assert f"<|im_start|>assistant\n{second}<|im_end|>" in text
    # Episode 1's cut-off reply is closed by the template before its observation.
    assert tokenizer.decode(out["completion_ids"][1]).startswith("stay<|im_end|>\n<|im_start|>user\n")
    d = probe.start_distance
    assert out["step_rewards"][0] == pytest.approx([1 / d, 1 / d, 0.0]) and out["env_reward"][0] == pytest.approx(2 / d)
    assert out["step_rewards"][1] == [0.0, 0.0, 0.0] and out["logprobs"] is None


def test_multi_turn_grpo_trains_through_an_http_environment(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    server, url, _ = serve(VowelEnv)
    shapes = []
    original = TrainpipeGRPOTrainer._generate_and_score_completions

    def spy(self, inputs):
        out = original(self, inputs)
        shapes.append((tuple(out["advantages"].shape), tuple(out["completion_ids"].shape)))
        return out

    monkeypatch.setattr(TrainpipeGRPOTrainer, "_generate_and_score_completions", spy)
    rl = small_rl(
        environment="http",
        env_url=url,
        rewards=[RewardConfig("env")],
        env_episodes=4,
        env_max_turns=2,
        env_turn_tokens=4,
        batch_size=4,
        max_steps=2,
    )
    try:
        metrics, report, delta, trainer = train(rl, tiny_dir, None, tmp_path)
    finally:
        server.shutdown()
    assert report == {"episodes": 4, "environment": "http"} and metrics["steps"] == 2 and delta > 0
    # Step advantages: one advantage per completion token, not one per completion.
    assert shapes and all(adv == ids for adv, ids in shapes)
    logged = [h["rewards/env/mean"] for h in trainer.state.log_history if "rewards/env/mean" in h]
    assert len(logged) == 2 and all(0.0 <= r <= 2.0 for r in logged)


class _Silent:
    """An environment whose server steps without a reward."""

    def reset(self, seed):
        return "Start."

    def step(self, action):
        return "Moved.", None, False


def test_http_step_without_a_reward_is_an_error_not_a_zero():
    server, url, _ = serve(_Silent)
    try:
        env = HttpEnvironment(url)
        env.reset(0)
        with pytest.raises(UserError, match="/step: expected a numeric 'reward'; got None"):
            env.step("up")
    finally:
        server.shutdown()
