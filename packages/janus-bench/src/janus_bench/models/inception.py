"""``inception_v3``: Inception-v3 (Szegedy et al. 2016), one SGD-with-momentum training
step per call on synthetic ImageNet-shaped images (299x299 in the paper profile).

The full module structure of torchvision's / TF-slim's Inception-v3: the stem (3x3
convs, max pools, 1x1 + 3x3), 3x Inception-A (1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1),
the grid reduction B, 4x Inception-C (factorised 1x7 / 7x1 branches), reduction D,
2x Inception-E (split 1x3 / 3x1 branches), global average pool, classifier;
every conv is conv + batch norm (training mode, eps 1e-3) + ReLU, and each module
concatenates its parallel branches along channels.  ``width`` scales every channel
count (1.0 in the paper; the quick profile uses a narrow net at 75x75, the smallest
input the stem and reductions accept, with one module of each kind instead of 3-1-4-1-2).
The auxiliary classifier and dropout are left out.  Average pools exclude padding (TF's SAME semantics; torch:
``count_include_pad=False``).

torch: ``nn.Module`` per Inception module, ``torch.cat``, ``torch.optim.SGD(momentum=0.9)``.
tf: ``tf.Module`` per Inception module over ``tf.nn`` ops (NHWC), ``tf.concat``,
``tf.GradientTape`` + ``tf.keras.optimizers.SGD(momentum=0.9)``.  Shared NumPy weights.
"""

from __future__ import annotations

from typing import Any, Dict

from ._common import normal, rng, tf_device, torch_device
from ._convnets import NamedInit, hwio, nhwc, tf_batchnorm_class, torch_load
from .registry import register

SIZES: Dict[str, Dict[str, Any]] = {
    # smoke/quick: one module of each kind (A, B, C, D, E) so that torch.compile's compile time fits the
    # quick budget.  smoke lr 1e-3: at such narrow widths the net is chaotic (batch-norm gradient explosion at
    # init), and with larger steps the two frameworks' float rounding grows into different trajectories.
    "smoke": dict(
        batch=4,
        image=75,
        width=1 / 16,
        classes=10,
        lr=0.001,
        mixed=("Mixed_5b", "Mixed_6a", "Mixed_6b", "Mixed_7a", "Mixed_7b"),
    ),
    # quick keeps an A, a B and a C module: Inductor's compile time grows with the op count (298 s for all five
    # kinds on the 2-core machine), and the quick suite has a 15-minute budget
    "quick": dict(batch=4, image=75, width=1 / 8, classes=100, lr=0.01, mixed=("Mixed_5b", "Mixed_6a", "Mixed_6b")),
    "paper": dict(batch=64, image=299, width=1.0, classes=1000, lr=0.045),
}

# (name, kind, args): kind A takes pool_features, C takes channels_7x7
MODULES = [
    ("Mixed_5b", "A", 32),
    ("Mixed_5c", "A", 64),
    ("Mixed_5d", "A", 64),
    ("Mixed_6a", "B", None),
    ("Mixed_6b", "C", 128),
    ("Mixed_6c", "C", 160),
    ("Mixed_6d", "C", 160),
    ("Mixed_6e", "C", 192),
    ("Mixed_7a", "D", None),
    ("Mixed_7b", "E", None),
    ("Mixed_7c", "E", None),
]


def _modules(size):
    keep = size.get("mixed")
    return [m for m in MODULES if keep is None or m[0] in keep]


def _scale(width):
    return lambda n: max(1, int(round(n * width)))


def _data(size, seed):
    r = rng(seed, 1)

    def next_np():
        images = normal(r, (size["batch"], 3, size["image"], size["image"]))
        labels = r.integers(0, size["classes"], size=(size["batch"],))
        return images, labels

    return next_np


def _branches(kind, cin, arg, c):
    """Each branch: list of (suffix, cin, cout, (kh, kw), stride, 'same'|'valid'); 'pool' entries mark pools."""
    k1, k3, k5 = (1, 1), (3, 3), (5, 5)
    if kind == "A":
        return [
            [("branch1x1", cin, c(64), k1, 1, "same")],
            [("branch5x5_1", cin, c(48), k1, 1, "same"), ("branch5x5_2", c(48), c(64), k5, 1, "same")],
            [
                ("branch3x3dbl_1", cin, c(64), k1, 1, "same"),
                ("branch3x3dbl_2", c(64), c(96), k3, 1, "same"),
                ("branch3x3dbl_3", c(96), c(96), k3, 1, "same"),
            ],
            ["avgpool", ("branch_pool", cin, c(arg), k1, 1, "same")],
        ]
    if kind == "B":
        return [
            [("branch3x3", cin, c(384), k3, 2, "valid")],
            [
                ("branch3x3dbl_1", cin, c(64), k1, 1, "same"),
                ("branch3x3dbl_2", c(64), c(96), k3, 1, "same"),
                ("branch3x3dbl_3", c(96), c(96), k3, 2, "valid"),
            ],
            ["maxpool"],
        ]
    if kind == "C":
        c7, a, b = c(arg), (1, 7), (7, 1)
        return [
            [("branch1x1", cin, c(192), k1, 1, "same")],
            [
                ("branch7x7_1", cin, c7, k1, 1, "same"),
                ("branch7x7_2", c7, c7, a, 1, "same"),
                ("branch7x7_3", c7, c(192), b, 1, "same"),
            ],
            [
                ("branch7x7dbl_1", cin, c7, k1, 1, "same"),
                ("branch7x7dbl_2", c7, c7, b, 1, "same"),
                ("branch7x7dbl_3", c7, c7, a, 1, "same"),
                ("branch7x7dbl_4", c7, c7, b, 1, "same"),
                ("branch7x7dbl_5", c7, c(192), a, 1, "same"),
            ],
            ["avgpool", ("branch_pool", cin, c(192), k1, 1, "same")],
        ]
    if kind == "D":
        return [
            [("branch3x3_1", cin, c(192), k1, 1, "same"), ("branch3x3_2", c(192), c(320), k3, 2, "valid")],
            [
                ("branch7x7x3_1", cin, c(192), k1, 1, "same"),
                ("branch7x7x3_2", c(192), c(192), (1, 7), 1, "same"),
                ("branch7x7x3_3", c(192), c(192), (7, 1), 1, "same"),
                ("branch7x7x3_4", c(192), c(192), k3, 2, "valid"),
            ],
            ["maxpool"],
        ]
    raise ValueError(kind)  # E is built by hand: its branches split in two


def _e_convs(cin, c):
    return dict(
        branch1x1=(cin, c(320), (1, 1)),
        branch3x3_1=(cin, c(384), (1, 1)),
        branch3x3_2a=(c(384), c(384), (1, 3)),
        branch3x3_2b=(c(384), c(384), (3, 1)),
        branch3x3dbl_1=(cin, c(448), (1, 1)),
        branch3x3dbl_2=(c(448), c(384), (3, 3)),
        branch3x3dbl_3a=(c(384), c(384), (1, 3)),
        branch3x3dbl_3b=(c(384), c(384), (3, 1)),
        branch_pool=(cin, c(192), (1, 1)),
    )


def _out_channels(kind, cin, arg, c):
    if kind == "E":
        return c(320) + 4 * c(384) + c(192)
    return sum(cin if br == ["maxpool"] else br[-1][2] for br in _branches(kind, cin, arg, c))


STEM = [
    ("Conv2d_1a_3x3", 3, 32, 3, 2, "valid"),
    ("Conv2d_2a_3x3", 32, 32, 3, 1, "valid"),
    ("Conv2d_2b_3x3", 32, 64, 3, 1, "same"),
    "maxpool",
    ("Conv2d_3b_1x1", 64, 80, 1, 1, "valid"),
    ("Conv2d_4a_3x3", 80, 192, 3, 1, "valid"),
    "maxpool",
]


# --------------------------------------------------------------------------- torch
def build_torch(size, seed, device="cpu"):
    import torch
    import torch.nn.functional as F
    from torch import nn

    init, c = NamedInit(seed), _scale(size["width"])

    class BasicConv2d(nn.Module):
        def __init__(self, name, cin, cout, k, stride=1, padding="valid"):
            super().__init__()
            k = (k, k) if isinstance(k, int) else k
            pad = (k[0] // 2, k[1] // 2) if padding == "same" else 0
            self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=False)
            torch_load(self.conv.weight, init.he(name, (cout, cin) + k))
            self.bn = nn.BatchNorm2d(cout, eps=1e-3)

        def forward(self, x):
            return F.relu(self.bn(self.conv(x)))

    class InceptionBlock(nn.Module):
        """A, B, C or D: parallel branches (conv chains, optionally behind a pool), concatenated."""

        def __init__(self, name, kind, cin, arg):
            super().__init__()
            self.plan = _branches(kind, cin, arg, c)
            self.convs = nn.ModuleDict()
            for br in self.plan:
                for spec in br:
                    if spec not in ("avgpool", "maxpool"):
                        suffix, ci, co, k, s, p = spec
                        self.convs[suffix] = BasicConv2d(f"{name}.{suffix}", ci, co, k, s, p)

        def forward(self, x):
            outs = []
            for br in self.plan:
                h = x
                for spec in br:
                    if spec == "avgpool":
                        h = F.avg_pool2d(h, 3, stride=1, padding=1, count_include_pad=False)
                    elif spec == "maxpool":
                        h = F.max_pool2d(h, 3, stride=2)
                    else:
                        h = self.convs[spec[0]](h)
                outs.append(h)
            return torch.cat(outs, 1)

    class InceptionE(nn.Module):
        def __init__(self, name, cin):
            super().__init__()
            for suffix, (ci, co, k) in _e_convs(cin, c).items():
                setattr(self, suffix, BasicConv2d(f"{name}.{suffix}", ci, co, k, 1, "same"))

        def forward(self, x):
            b1 = self.branch1x1(x)
            b3 = self.branch3x3_1(x)
            b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
            bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
            bp = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
            return torch.cat([b1, b3, bd, bp], 1)

    class InceptionV3(nn.Module):
        def __init__(self, classes):
            super().__init__()
            self.stem = nn.ModuleList()
            for spec in STEM:
                if spec == "maxpool":
                    self.stem.append(nn.MaxPool2d(3, stride=2))
                else:
                    name, ci, co, k, s, p = spec
                    self.stem.append(BasicConv2d(name, 3 if ci == 3 else c(ci), c(co), k, s, p))
            cin = c(192)
            self.mixed = nn.ModuleList()
            for name, kind, arg in _modules(size):
                self.mixed.append(InceptionE(name, cin) if kind == "E" else InceptionBlock(name, kind, cin, arg))
                cin = _out_channels(kind, cin, arg, c)
            self.fc = nn.Linear(cin, classes)
            torch_load(self.fc.weight, init.uniform("fc.weight", (classes, cin), cin))
            torch_load(self.fc.bias, init.uniform("fc.bias", (classes,), cin))

        def forward(self, x):
            for layer in self.stem:
                x = layer(x)
            for block in self.mixed:
                x = block(x)
            x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
            return self.fc(x)

    dev = torch_device(device)
    model = InceptionV3(size["classes"]).to(dev)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=size["lr"], momentum=0.9)
    next_np = _data(size, seed)

    def inception_v3_train(images, labels):
        loss = F.cross_entropy(model(images), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach()

    def make_batch():
        images, labels = next_np()
        return torch.from_numpy(images).to(dev), torch.from_numpy(labels).to(dev)

    return inception_v3_train, make_batch


# --------------------------------------------------------------------------- tf
def build_tf(size, seed, device="cpu"):
    import tensorflow as tf

    BatchNorm = tf_batchnorm_class()
    init, c = NamedInit(seed), _scale(size["width"])

    def avgpool(h):
        return tf.nn.avg_pool2d(h, 3, 1, "SAME")  # SAME average pools exclude the padding

    def maxpool(h):
        return tf.nn.max_pool2d(h, 3, 2, "VALID")

    class BasicConv2d(tf.Module):
        def __init__(self, name, cin, cout, k, stride=1, padding="valid"):
            super().__init__()
            k = (k, k) if isinstance(k, int) else k
            self.w = tf.Variable(hwio(init.he(name, (cout, cin) + k)), name="w")
            self.bn = BatchNorm(cout, eps=1e-3)
            self.stride, self.padding = stride, padding.upper()

        def __call__(self, x):
            return tf.nn.relu(self.bn(tf.nn.conv2d(x, self.w, self.stride, self.padding)))

    class InceptionBlock(tf.Module):
        def __init__(self, name, kind, cin, arg):
            super().__init__()
            self.plan = _branches(kind, cin, arg, c)
            self.convs = {}
            for br in self.plan:
                for spec in br:
                    if spec not in ("avgpool", "maxpool"):
                        suffix, ci, co, k, s, p = spec
                        self.convs[suffix] = BasicConv2d(f"{name}.{suffix}", ci, co, k, s, p)

        def __call__(self, x):
            outs = []
            for br in self.plan:
                h = x
                for spec in br:
                    if spec == "avgpool":
                        h = avgpool(h)
                    elif spec == "maxpool":
                        h = maxpool(h)
                    else:
                        h = self.convs[spec[0]](h)
                outs.append(h)
            return tf.concat(outs, axis=-1)

    class InceptionE(tf.Module):
        def __init__(self, name, cin):
            super().__init__()
            for suffix, (ci, co, k) in _e_convs(cin, c).items():
                setattr(self, suffix, BasicConv2d(f"{name}.{suffix}", ci, co, k, 1, "same"))

        def __call__(self, x):
            b1 = self.branch1x1(x)
            b3 = self.branch3x3_1(x)
            b3 = tf.concat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], axis=-1)
            bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
            bd = tf.concat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], axis=-1)
            bp = self.branch_pool(avgpool(x))
            return tf.concat([b1, b3, bd, bp], axis=-1)

    class InceptionV3(tf.Module):
        def __init__(self, classes):
            super().__init__()
            self.stem = []
            for spec in STEM:
                if spec == "maxpool":
                    self.stem.append(maxpool)
                else:
                    name, ci, co, k, s, p = spec
                    self.stem.append(BasicConv2d(name, 3 if ci == 3 else c(ci), c(co), k, s, p))
            cin = c(192)
            self.mixed = []
            for name, kind, arg in _modules(size):
                self.mixed.append(InceptionE(name, cin) if kind == "E" else InceptionBlock(name, kind, cin, arg))
                cin = _out_channels(kind, cin, arg, c)
            self.fc_w = tf.Variable(init.uniform("fc.weight", (classes, cin), cin).T.copy(), name="fc_w")
            self.fc_b = tf.Variable(init.uniform("fc.bias", (classes,), cin), name="fc_b")

        def __call__(self, x):
            for layer in self.stem:
                x = layer(x)
            for block in self.mixed:
                x = block(x)
            x = tf.reduce_mean(x, axis=[1, 2])
            return tf.matmul(x, self.fc_w) + self.fc_b

    with tf.device(tf_device(device)):
        model = InceptionV3(size["classes"])
        opt = tf.keras.optimizers.SGD(learning_rate=size["lr"], momentum=0.9)
    next_np = _data(size, seed)

    def inception_v3_train(images, labels):
        with tf.GradientTape() as tape:
            logits = model(images)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        variables = model.trainable_variables
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def make_batch():
        images, labels = next_np()
        with tf.device(tf_device(device)):
            return tf.constant(nhwc(images)), tf.constant(labels)

    return inception_v3_train, make_batch


register(
    "inception_v3",
    family="inception",
    sizes=SIZES,
    samples=lambda s: s["batch"],
    training=True,
    paper_model="Inception-v3 (CNN, ImageNet)",
    description="Inception-v3 (stem + A/B/C/D/E modules of parallel conv branches concatenated, batch "
    "norm in training mode), one SGD-momentum training step per call (quick: narrow, 75x75)",
    torch=build_torch,
    tf=build_tf,
)
