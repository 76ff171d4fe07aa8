"""``resnet50``: ResNet-50 (v1.5: the stride sits on the bottleneck's 3x3 conv), one
SGD-with-momentum training step per call on synthetic ImageNet-shaped data.

Structure: 7x7/2 stem conv + BN + ReLU + 3x3/2 max pool, four
stages of bottleneck blocks ([3, 4, 6, 3] in ResNet-50; 1x1 - 3x3 - 1x1 convs, each followed by a
batch norm in training mode, projection shortcut on the first block of a stage),
global average pool, fully connected classifier, softmax cross-entropy.  ``width`` is
the bottleneck width of the first stage (64 in the paper's model); ``blocks`` the bottlenecks per stage
([3, 4, 6, 3] in the paper profile, [1, 1, 1, 1] in smoke/quick to keep torch.compile's
compile time within the quick budget), narrow, on 32x32 images.  The last batch norm of
each block starts at zero (zero-init residual, Goyal et al. 2017), which keeps the
two frameworks' trajectories together at small batch sizes.

torch: ``nn.Module`` blocks (``nn.Conv2d`` + ``nn.BatchNorm2d``), NCHW,
``torch.optim.SGD(momentum=0.9)``.
tf: ``tf.Module`` blocks over ``tf.nn.conv2d`` (NHWC, explicit padding as in torch),
batch norm from ``tf.nn.moments``, ``tf.GradientTape`` + ``tf.keras.optimizers.SGD``.
Weights come from NumPy, keyed by layer name, so both start from the same numbers.
"""

from __future__ import annotations

from typing import Any, Dict

from ._common import normal, rng, tf_device, torch_device
from ._convnets import NamedInit, hwio, nhwc, tf_batchnorm_class, torch_load
from .registry import register

SIZES: Dict[str, Dict[str, Any]] = {
    # smoke/quick: one bottleneck per stage (ResNet-50's blocks, 14 layers deep) -- torch.compile (Inductor)
    # of the full [3, 4, 6, 3] training step takes minutes on a small CPU, far over the quick budget.
    "smoke": dict(batch=4, image=32, width=4, classes=10, lr=0.01, blocks=(1, 1, 1, 1)),
    "quick": dict(batch=8, image=32, width=8, classes=100, lr=0.01, blocks=(1, 1, 1, 1)),
    "paper": dict(batch=64, image=224, width=64, classes=1000, lr=0.1, blocks=(3, 4, 6, 3)),
}
BLOCKS = (3, 4, 6, 3)
EXPANSION = 4


def _data(size, seed):
    r = rng(seed, 1)

    def next_np():
        images = normal(r, (size["batch"], 3, size["image"], size["image"]))
        labels = r.integers(0, size["classes"], size=(size["batch"],))
        return images, labels

    return next_np


def _stages(width):
    """(stage name, bottleneck width, first stride) of the four stages."""
    return [(f"layer{i + 1}", width * 2**i, 1 if i == 0 else 2) for i in range(4)]


# --------------------------------------------------------------------------- torch
def build_torch(size, seed, device="cpu"):
    import torch
    import torch.nn.functional as F
    from torch import nn

    init = NamedInit(seed)

    def conv(name, cin, cout, k, stride=1):
        c = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)
        torch_load(c.weight, init.he(name, (cout, cin, k, k)))
        return c

    class Bottleneck(nn.Module):
        def __init__(self, name, cin, width, stride):
            super().__init__()
            cout = width * EXPANSION
            self.conv1 = conv(f"{name}.conv1", cin, width, 1)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = conv(f"{name}.conv2", width, width, 3, stride)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = conv(f"{name}.conv3", width, cout, 1)
            self.bn3 = nn.BatchNorm2d(cout)
            nn.init.zeros_(self.bn3.weight)  # zero-init residual (Goyal et al.): each block starts as identity
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(conv(f"{name}.downsample", cin, cout, 1, stride), nn.BatchNorm2d(cout))

        def forward(self, x):
            identity = x
            out = F.relu(self.bn1(self.conv1(x)))
            out = F.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            return F.relu(out + identity)

    class ResNet50(nn.Module):
        def __init__(self, width, classes):
            super().__init__()
            self.conv1 = conv("conv1", 3, width, 7, 2)
            self.bn1 = nn.BatchNorm2d(width)
            cin = width
            layers = []
            for stage, w, stride in _stages(width):
                blocks = []
                for b in range(size["blocks"][len(layers)]):
                    blocks.append(Bottleneck(f"{stage}.{b}", cin, w, stride if b == 0 else 1))
                    cin = w * EXPANSION
                layers.append(nn.Sequential(*blocks))
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.fc = nn.Linear(cin, classes)
            torch_load(self.fc.weight, init.uniform("fc.weight", (classes, cin), cin))
            torch_load(self.fc.bias, init.uniform("fc.bias", (classes,), cin))

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.max_pool2d(x, 3, stride=2, padding=1)
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
            return self.fc(x)

    dev = torch_device(device)
    model = ResNet50(size["width"], size["classes"]).to(dev)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=size["lr"], momentum=0.9)
    next_np = _data(size, seed)

    def resnet50_train(images, labels):
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.detach()

    def make_batch():
        images, labels = next_np()
        return torch.from_numpy(images).to(dev), torch.from_numpy(labels).to(dev)

    return resnet50_train, make_batch


# --------------------------------------------------------------------------- tf
def build_tf(size, seed, device="cpu"):
    import tensorflow as tf

    BatchNorm = tf_batchnorm_class()
    init = NamedInit(seed)

    class Conv(tf.Module):
        def __init__(self, name, cin, cout, k, stride=1):
            super().__init__()
            self.stride = stride
            p = k // 2
            self.padding = [[0, 0], [p, p], [p, p], [0, 0]]
            self.w = tf.Variable(hwio(init.he(name, (cout, cin, k, k))), name="w")

        def __call__(self, x):
            return tf.nn.conv2d(x, self.w, strides=self.stride, padding=self.padding)

    class Bottleneck(tf.Module):
        def __init__(self, name, cin, width, stride):
            super().__init__()
            cout = width * EXPANSION
            self.conv1, self.bn1 = Conv(f"{name}.conv1", cin, width, 1), BatchNorm(width)
            self.conv2, self.bn2 = Conv(f"{name}.conv2", width, width, 3, stride), BatchNorm(width)
            self.conv3, self.bn3 = Conv(f"{name}.conv3", width, cout, 1), BatchNorm(cout)
            self.bn3.gamma.assign(tf.zeros([cout]))  # zero-init residual, as in torch
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = [Conv(f"{name}.downsample", cin, cout, 1, stride), BatchNorm(cout)]

        def __call__(self, x):
            identity = x
            out = tf.nn.relu(self.bn1(self.conv1(x)))
            out = tf.nn.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None:
                conv, bn = self.downsample
                identity = bn(conv(x))
            return tf.nn.relu(out + identity)

    class ResNet50(tf.Module):
        def __init__(self, width, classes):
            super().__init__()
            self.conv1, self.bn1 = Conv("conv1", 3, width, 7, 2), BatchNorm(width)
            cin = width
            self.stages = []
            for s, (stage, w, stride) in enumerate(_stages(width)):
                blocks = []
                for b in range(size["blocks"][s]):
                    blocks.append(Bottleneck(f"{stage}.{b}", cin, w, stride if b == 0 else 1))
                    cin = w * EXPANSION
                self.stages.append(blocks)
            self.fc_w = tf.Variable(init.uniform("fc.weight", (classes, cin), cin).T.copy(), name="fc_w")
            self.fc_b = tf.Variable(init.uniform("fc.bias", (classes,), cin), name="fc_b")

        def __call__(self, x):
            x = tf.nn.relu(self.bn1(self.conv1(x)))
            x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])  # post-ReLU, so zero padding = -inf padding
            x = tf.nn.max_pool2d(x, 3, 2, "VALID")
            for blocks in self.stages:
                for block in blocks:
                    x = block(x)
            x = tf.reduce_mean(x, axis=[1, 2])
            return tf.matmul(x, self.fc_w) + self.fc_b

    with tf.device(tf_device(device)):
        model = ResNet50(size["width"], size["classes"])
        opt = tf.keras.optimizers.SGD(learning_rate=size["lr"], momentum=0.9)
    next_np = _data(size, seed)

    def resnet50_train(images, labels):
        with tf.GradientTape() as tape:
            logits = model(images)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        opt.apply_gradients(zip(grads, variables))
        return loss

    def make_batch():
        images, labels = next_np()
        with tf.device(tf_device(device)):
            return tf.constant(nhwc(images)), tf.constant(labels)

    return resnet50_train, make_batch


register(
    "resnet50",
    family="resnet",
    sizes=SIZES,
    samples=lambda s: s["batch"],
    training=True,
    paper_model="ResNet-50 (CNN, ImageNet)",
    description="ResNet-50 ([3,4,6,3] bottlenecks, batch norm in training mode), one SGD-momentum "
    "training step per call on synthetic ImageNet-shaped images (quick: narrow, 32x32)",
    torch=build_torch,
    tf=build_tf,
)
