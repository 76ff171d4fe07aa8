"""Deep RL training steps (the paper's DRL workloads): ``a3c`` and ``ppo`` on cart-pole.

The environment is CartPole-v1's dynamics written out in NumPy (``CartPole``, batched
over ``envs`` copies, auto-reset, 500-step limit); it lives in the step function's
closure, so episodes continue from call to call.  The policy is an MLP with a policy
(logits) and a value head.  Actions are sampled in NumPy from the policy's
probabilities (inverse CDF with the agent's own seeded generator), so the two
frameworks take the same actions from the same weights.

What one call does (the function timed is the worker's whole iteration):

* ``a3c`` (one A3C worker iteration, as in the common PyTorch A3C): a rollout of up to
  ``rollout`` env steps (stopping early at the end of an episode); at each step the
  policy forward runs with gradients recorded, an action is sampled, and the NumPy env
  steps.  Then the n-step returns and GAE are computed by a reversed Python loop, the
  loss is policy gradient + 0.5 value loss - 0.01 entropy, and one RMSprop step
  (gradient norm clipped to 40) is taken.  samples = env steps.
* ``ppo``: a rollout of ``rollout`` steps in ``envs`` parallel envs with the policy
  forward per step (no gradients), GAE (NumPy), then ``epochs`` epochs over shuffled
  minibatches of the clipped-surrogate loss (+ value loss - entropy), one Adam step
  (gradient norm clipped to 0.5) per minibatch.  samples = rollout x envs.

torch: ``nn.Module``, ``torch.optim.RMSprop`` / ``torch.optim.Adam``.  tf: ``tf.Module``,
``tf.GradientTape`` and a small hand-written RMSprop / Adam with the torch.optim
formulas (Keras' put epsilon elsewhere), so both frameworks take the same steps.
Both return the loss (a3c) / the minibatch losses (ppo).
"""

from __future__ import annotations

import math
from typing import Any, Dict

import numpy as np

from ._common import rng, tf_device, torch_device, uniform
from .registry import register

A3C_SIZES: Dict[str, Dict[str, Any]] = {
    "smoke": dict(hidden=16, rollout=5, lr=7e-4, gamma=0.99, lam=1.0),
    "quick": dict(hidden=64, rollout=10, lr=7e-4, gamma=0.99, lam=1.0),
    "paper": dict(hidden=256, rollout=20, lr=7e-4, gamma=0.99, lam=1.0),
}
PPO_SIZES: Dict[str, Dict[str, Any]] = {
    "smoke": dict(hidden=16, envs=2, rollout=5, epochs=2, minibatches=2, lr=3e-4, gamma=0.99, lam=0.95, clip=0.2),
    "quick": dict(hidden=64, envs=4, rollout=8, epochs=2, minibatches=2, lr=3e-4, gamma=0.99, lam=0.95, clip=0.2),
    "paper": dict(hidden=256, envs=8, rollout=128, epochs=4, minibatches=4, lr=3e-4, gamma=0.99, lam=0.95, clip=0.2),
}
OBS, ACTIONS = 4, 2


class CartPole:
    """CartPole-v1 (gym's equations, Euler steps), `n` copies, auto-reset."""

    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    theta_limit, x_limit, max_steps = 12 * 2 * math.pi / 360, 2.4, 500

    def __init__(self, n: int, r: np.random.Generator):
        self.n, self.r = n, r
        self.state = r.uniform(-0.05, 0.05, size=(n, 4))
        self.t = np.zeros(n, dtype=np.int64)

    def obs(self) -> np.ndarray:
        return self.state.astype(np.float32)

    def step(self, actions: np.ndarray):
        x, x_dot, theta, theta_dot = self.state.T
        force = np.where(actions == 1, self.force_mag, -self.force_mag)
        cos, sin = np.cos(theta), np.sin(theta)
        total_mass = self.masspole + self.masscart
        pml = self.masspole * self.length
        temp = (force + pml * theta_dot**2 * sin) / total_mass
        theta_acc = (self.gravity * sin - cos * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * cos**2 / total_mass)
        )
        x_acc = temp - pml * theta_acc * cos / total_mass
        self.state = np.stack(
            [
                x + self.tau * x_dot,
                x_dot + self.tau * x_acc,
                theta + self.tau * theta_dot,
                theta_dot + self.tau * theta_acc,
            ],
            axis=1,
        )
        self.t += 1
        fell = (np.abs(self.state[:, 0]) > self.x_limit) | (np.abs(self.state[:, 2]) > self.theta_limit)
        done = fell | (self.t >= self.max_steps)
        reward = np.ones(self.n, dtype=np.float32)
        if done.any():
            self.state[done] = self.r.uniform(-0.05, 0.05, size=(int(done.sum()), 4))
            self.t[done] = 0
        return self.obs(), reward, done


def sample_action(r: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One action per row of `probs` by inverse CDF."""
    cdf = np.cumsum(probs, axis=-1)
    u = r.random(probs.shape[:-1] + (1,)) * cdf[..., -1:]
    return np.minimum((u > cdf).sum(-1), probs.shape[-1] - 1)


def gae(rewards, values, dones, last_value, gamma, lam):
    """Generalized advantage estimates and returns over a [T, envs] rollout (NumPy)."""
    adv = np.zeros_like(rewards)
    running = np.zeros_like(last_value)
    for t in reversed(range(len(rewards))):
        next_value = last_value if t == len(rewards) - 1 else values[t + 1]
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_value * nonterminal - values[t]
        running = delta + gamma * lam * nonterminal * running
        adv[t] = running
    return adv, adv + values


def _init(size, seed):
    r = rng(seed, 0)
    h = size["hidden"]
    return dict(
        w1=uniform(r, (OBS, h), OBS),
        b1=uniform(r, (h,), OBS),
        w2=uniform(r, (h, h), h),
        b2=uniform(r, (h,), h),
        w_pi=uniform(r, (h, ACTIONS), h) * 0.1,
        b_pi=np.zeros(ACTIONS, np.float32),
        w_v=uniform(r, (h, 1), h),
        b_v=np.zeros(1, np.float32),
    )


def _minibatches(r, n, k):
    return np.array_split(r.permutation(n), k)


# --------------------------------------------------------------------------- torch
def _torch_policy(size, seed, device):
    import torch
    from torch import nn

    class ActorCritic(nn.Module):
        def __init__(self, init):
            super().__init__()
            for name, value in init.items():
                setattr(self, name, nn.Parameter(torch.from_numpy(value)))

        def forward(self, obs):
            x = torch.tanh(obs @ self.w1 + self.b1)
            x = torch.tanh(x @ self.w2 + self.b2)
            return x @ self.w_pi + self.b_pi, (x @ self.w_v + self.b_v)[:, 0]

    return ActorCritic(_init(size, seed)).to(torch_device(device))


def build_a3c_torch(size, seed, device="cpu"):
    import torch
    import torch.nn.functional as F

    dev = torch_device(device)
    model = _torch_policy(size, seed, device)
    opt = torch.optim.RMSprop(model.parameters(), lr=size["lr"], alpha=0.99, eps=1e-5)
    env, r_act = CartPole(1, rng(seed, 1)), rng(seed, 2)
    gamma, lam = size["gamma"], size["lam"]

    def a3c_train():
        obs = torch.from_numpy(env.obs()).to(dev)
        values, log_probs, entropies, rewards = [], [], [], []
        done = False
        for _ in range(size["rollout"]):
            logits, value = model(obs)
            prob, log_prob = F.softmax(logits, dim=1), F.log_softmax(logits, dim=1)
            entropies.append(-(prob * log_prob).sum())
            action = int(sample_action(r_act, prob.detach().cpu().numpy())[0])
            log_probs.append(log_prob[0, action])
            values.append(value[0])
            next_obs, reward, dones = env.step(np.array([action]))
            rewards.append(float(reward[0]))
            obs = torch.from_numpy(next_obs).to(dev)
            if dones[0]:
                done = True
                break
        R = torch.zeros((), device=dev) if done else model(obs)[1][0].detach()
        values.append(R)
        policy_loss, value_loss, running_gae = 0.0, 0.0, torch.zeros((), device=dev)
        for i in reversed(range(len(rewards))):
            R = gamma * R + rewards[i]
            advantage = R - values[i]
            value_loss = value_loss + 0.5 * advantage.pow(2)
            delta = rewards[i] + gamma * values[i + 1].detach() - values[i].detach()
            running_gae = running_gae * gamma * lam + delta
            policy_loss = policy_loss - log_probs[i] * running_gae - 0.01 * entropies[i]
        loss = policy_loss + 0.5 * value_loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 40.0)
        opt.step()
        return loss.detach()

    return a3c_train, lambda: ()


def build_ppo_torch(size, seed, device="cpu"):
    import torch
    import torch.nn.functional as F

    dev = torch_device(device)
    model = _torch_policy(size, seed, device)
    opt = torch.optim.Adam(model.parameters(), lr=size["lr"], eps=1e-5)
    env, r_act, r_mb = CartPole(size["envs"], rng(seed, 1)), rng(seed, 2), rng(seed, 3)
    T, N = size["rollout"], size["envs"]

    def ppo_train():
        obs_buf = np.zeros((T, N, OBS), np.float32)
        act_buf, logp_buf = np.zeros((T, N), np.int64), np.zeros((T, N), np.float32)
        val_buf, rew_buf, done_buf = (np.zeros((T, N), np.float32) for _ in range(3))
        obs = env.obs()
        with torch.no_grad():
            for t in range(T):
                logits, value = model(torch.from_numpy(obs).to(dev))
                log_prob = F.log_softmax(logits, dim=1).cpu().numpy()
                action = sample_action(r_act, np.exp(log_prob))
                obs_buf[t], act_buf[t], val_buf[t] = obs, action, value.cpu().numpy()
                logp_buf[t] = log_prob[np.arange(N), action]
                obs, rew_buf[t], done = env.step(action)
                done_buf[t] = done
            last_value = model(torch.from_numpy(obs).to(dev))[1].cpu().numpy()
        adv, ret = gae(rew_buf, val_buf, done_buf, last_value, size["gamma"], size["lam"])
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        flat = lambda a: torch.from_numpy(a.reshape((T * N,) + a.shape[2:])).to(dev)
        b_obs, b_act, b_logp, b_adv, b_ret = flat(obs_buf), flat(act_buf), flat(logp_buf), flat(adv), flat(ret)
        losses = []
        for _ in range(size["epochs"]):
            for idx in _minibatches(r_mb, T * N, size["minibatches"]):
                idx = torch.from_numpy(idx).to(dev)
                logits, value = model(b_obs[idx])
                log_probs = F.log_softmax(logits, dim=1)
                new_logp = log_probs.gather(1, b_act[idx][:, None])[:, 0]
                entropy = -(log_probs.exp() * log_probs).sum(1).mean()
                ratio = torch.exp(new_logp - b_logp[idx])
                surr1 = ratio * b_adv[idx]
                surr2 = torch.clamp(ratio, 1.0 - size["clip"], 1.0 + size["clip"]) * b_adv[idx]
                policy_loss = -torch.min(surr1, surr2).mean()
                value_loss = ((b_ret[idx] - value) ** 2).mean()
                loss = policy_loss + 0.5 * value_loss - 0.01 * entropy
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
                opt.step()
                losses.append(loss.detach())
        return torch.stack(losses)

    return ppo_train, lambda: ()


# --------------------------------------------------------------------------- tf
def _tf_policy(size, seed):
    import tensorflow as tf

    class ActorCritic(tf.Module):
        def __init__(self, init):
            super().__init__(name="actor_critic")
            for name, value in init.items():
                setattr(self, name, tf.Variable(value, name=name))

        def __call__(self, obs):
            x = tf.tanh(tf.matmul(obs, self.w1) + self.b1)
            x = tf.tanh(tf.matmul(x, self.w2) + self.b2)
            return tf.matmul(x, self.w_pi) + self.b_pi, (tf.matmul(x, self.w_v) + self.b_v)[:, 0]

    return ActorCritic(_init(size, seed))


def _tf_optimizer(kind: str, variables, lr: float, eps: float):
    """RMSprop (alpha 0.99) / Adam (0.9, 0.999) with torch.optim's update formulas."""
    import tensorflow as tf

    slots = [[tf.Variable(tf.zeros_like(v), trainable=False) for v in variables] for _ in range(2)]
    step = [0]

    def apply(grads):
        step[0] += 1
        for v, g, m, s in zip(variables, grads, slots[0], slots[1]):
            if kind == "rmsprop":
                s.assign(0.99 * s + 0.01 * tf.square(g))
                v.assign_sub(lr * g / (tf.sqrt(s) + eps))
            else:
                m.assign(0.9 * m + 0.1 * g)
                s.assign(0.999 * s + 0.001 * tf.square(g))
                bias1, bias2 = 1.0 - 0.9 ** step[0], 1.0 - 0.999 ** step[0]
                v.assign_sub((lr / bias1) * m / (tf.sqrt(s) / math.sqrt(bias2) + eps))

    return apply


def build_a3c_tf(size, seed, device="cpu"):
    import tensorflow as tf

    with tf.device(tf_device(device)):
        model = _tf_policy(size, seed)
        variables = model.trainable_variables
        rmsprop = _tf_optimizer("rmsprop", variables, size["lr"], 1e-5)
    env, r_act = CartPole(1, rng(seed, 1)), rng(seed, 2)
    gamma, lam = size["gamma"], size["lam"]

    def a3c_train():
        obs = tf.constant(env.obs())
        values, log_probs, entropies, rewards = [], [], [], []
        done = False
        with tf.GradientTape() as tape:
            for _ in range(size["rollout"]):
                logits, value = model(obs)
                prob, log_prob = tf.nn.softmax(logits), tf.nn.log_softmax(logits)
                entropies.append(-tf.reduce_sum(prob * log_prob))
                action = int(sample_action(r_act, prob.numpy())[0])
                log_probs.append(log_prob[0, action])
                values.append(value[0])
                next_obs, reward, dones = env.step(np.array([action]))
                rewards.append(float(reward[0]))
                obs = tf.constant(next_obs)
                if dones[0]:
                    done = True
                    break
            R = tf.zeros([]) if done else tf.stop_gradient(model(obs)[1][0])
            values.append(R)
            policy_loss, value_loss, running_gae = 0.0, 0.0, tf.zeros([])
            for i in reversed(range(len(rewards))):
                R = gamma * R + rewards[i]
                advantage = R - values[i]
                value_loss = value_loss + 0.5 * tf.square(advantage)
                delta = rewards[i] + gamma * tf.stop_gradient(values[i + 1]) - tf.stop_gradient(values[i])
                running_gae = running_gae * gamma * lam + delta
                policy_loss = policy_loss - log_probs[i] * running_gae - 0.01 * entropies[i]
            loss = policy_loss + 0.5 * value_loss
        grads = tape.gradient(loss, variables)
        grads, _ = tf.clip_by_global_norm(grads, 40.0)
        rmsprop(grads)
        return loss

    return a3c_train, lambda: ()


def build_ppo_tf(size, seed, device="cpu"):
    import tensorflow as tf

    with tf.device(tf_device(device)):
        model = _tf_policy(size, seed)
        variables = model.trainable_variables
        adam = _tf_optimizer("adam", variables, size["lr"], 1e-5)
    env, r_act, r_mb = CartPole(size["envs"], rng(seed, 1)), rng(seed, 2), rng(seed, 3)
    T, N = size["rollout"], size["envs"]

    def ppo_train():
        obs_buf = np.zeros((T, N, OBS), np.float32)
        act_buf, logp_buf = np.zeros((T, N), np.int64), np.zeros((T, N), np.float32)
        val_buf, rew_buf, done_buf = (np.zeros((T, N), np.float32) for _ in range(3))
        obs = env.obs()
        for t in range(T):
            logits, value = model(tf.constant(obs))
            log_prob = tf.nn.log_softmax(logits).numpy()
            action = sample_action(r_act, np.exp(log_prob))
            obs_buf[t], act_buf[t], val_buf[t] = obs, action, value.numpy()
            logp_buf[t] = log_prob[np.arange(N), action]
            obs, rew_buf[t], done = env.step(action)
            done_buf[t] = done
        last_value = model(tf.constant(obs))[1].numpy()
        adv, ret = gae(rew_buf, val_buf, done_buf, last_value, size["gamma"], size["lam"])
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        flat = lambda a: tf.constant(a.reshape((T * N,) + a.shape[2:]))
        b_obs, b_act, b_logp, b_adv, b_ret = flat(obs_buf), flat(act_buf), flat(logp_buf), flat(adv), flat(ret)
        losses = []
        for _ in range(size["epochs"]):
            for idx in _minibatches(r_mb, T * N, size["minibatches"]):
                with tf.GradientTape() as tape:
                    logits, value = model(tf.gather(b_obs, idx))
                    log_probs = tf.nn.log_softmax(logits)
                    new_logp = tf.gather(log_probs, tf.gather(b_act, idx), batch_dims=1)
                    entropy = tf.reduce_mean(-tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=1))
                    ratio = tf.exp(new_logp - tf.gather(b_logp, idx))
                    surr1 = ratio * tf.gather(b_adv, idx)
                    surr2 = tf.clip_by_value(ratio, 1.0 - size["clip"], 1.0 + size["clip"]) * tf.gather(b_adv, idx)
                    policy_loss = -tf.reduce_mean(tf.minimum(surr1, surr2))
                    value_loss = tf.reduce_mean(tf.square(tf.gather(b_ret, idx) - value))
                    loss = policy_loss + 0.5 * value_loss - 0.01 * entropy
                grads = tape.gradient(loss, variables)
                grads, _ = tf.clip_by_global_norm(grads, 0.5)
                adam(grads)
                losses.append(loss)
        return tf.stack(losses)

    return ppo_train, lambda: ()


register(
    "a3c",
    family="rl",
    sizes=A3C_SIZES,
    samples=lambda s: s["rollout"],
    training=True,
    paper_model="A3C (DRL)",
    description="A3C worker iteration on a NumPy cart-pole: rollout of <= `rollout` steps (policy forward per "
    "step, NumPy env between), GAE actor-critic + entropy loss, one RMSprop step (samples = env "
    "steps, at most)",
    torch=build_a3c_torch,
    tf=build_a3c_tf,
)
register(
    "ppo",
    family="rl",
    sizes=PPO_SIZES,
    samples=lambda s: s["rollout"] * s["envs"],
    training=True,
    paper_model="PPO (DRL)",
    description="PPO iteration on batched NumPy cart-poles: rollout (policy forward per step), GAE, "
    "clipped-surrogate epochs over shuffled minibatches, one Adam step each (samples = env steps)",
    torch=build_ppo_torch,
    tf=build_ppo_tf,
)
