import pickle

import pytest
import torch
import torch.nn.functional as F

from bodyscene.config import LossWeights, ModelConfig
from bodyscene.errors import BodySceneError
from bodyscene.models import BACKBONES, DomainNet, create_backbone, create_model
from bodyscene.models.loss import total_loss


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_every_backbone_runs_forward_and_backward_at_a_tiny_size(name):
    torch.manual_seed(0)
    model = create_backbone(name, num_classes=5)
    x = torch.randn(2, 3, 32, 32)
    out = model(x)
    assert out.shape == (2, 5)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_domainnet_streams_share_no_parameter_and_fuse_by_summing_logits():
    net = create_model(ModelConfig(kind="domainnet", backbone="resnet18"), 4).eval()
    body_params = {id(p) for p in net.body.parameters()}
    assert body_params.isdisjoint(id(p) for p in net.background.parameters())
    b, g = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32)
    out = net(b, g)
    assert torch.allclose(out["combined"], out["body"] + out["background"])
    assert torch.allclose(out["body"], net.body(b))  # the body stream sees only the body input


def test_domainnet_refuses_a_shared_backbone():
    shared = create_backbone("resnet18", 3)
    with pytest.raises(ValueError):
        DomainNet(shared, shared)


def test_loss_is_the_weighted_sum_of_the_three_cross_entropies():
    torch.manual_seed(0)
    body, bg = torch.randn(8, 4), torch.randn(8, 4)
    outputs = {"body": body, "background": bg, "combined": body + bg}
    y = torch.randint(0, 4, (8,))
    total, parts = total_loss(outputs, y, LossWeights(body=0.5, background=2.0, combined=3.0))
    expected = 0.5 * F.cross_entropy(body, y) + 2.0 * F.cross_entropy(bg, y) + 3.0 * F.cross_entropy(body + bg, y)
    assert torch.allclose(total, expected)
    assert set(parts) == {"body", "background", "combined"}
    default, _ = total_loss(outputs, y, LossWeights())
    assert torch.allclose(default, sum(F.cross_entropy(o, y) for o in outputs.values()))


def test_pretrained_weights_load_from_a_local_state_dict_and_the_head_is_replaced(tmp_path):
    source = create_backbone("resnet18", 1000)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    model = create_backbone("resnet18", 7, pretrained=path)
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    assert model.fc.out_features == 7


def test_pretrained_errors_are_one_clear_line(tmp_path):
    with pytest.raises(BodySceneError, match="not found"):
        create_backbone("resnet18", 3, pretrained=tmp_path / "missing.pth")
    wrong = tmp_path / "r50.pth"
    torch.save(create_backbone("resnet50", 10).state_dict(), wrong)
    with pytest.raises(BodySceneError, match="do not match resnet18"):
        create_backbone("resnet18", 3, pretrained=wrong)
    not_dict = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], not_dict)
    with pytest.raises(BodySceneError, match="not a state dict"):
        create_backbone("resnet18", 3, pretrained=not_dict)


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/bodyscene-pwned",))


def test_a_malicious_pickle_is_refused_without_running_its_code(tmp_path):
    import os

    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"conv1.weight": _Exploit()}))
    if os.path.exists("/tmp/bodyscene-pwned"):
        os.remove("/tmp/bodyscene-pwned")
    with pytest.raises(BodySceneError, match="not a loadable weights file"):
        create_backbone("resnet18", 3, pretrained=path)
    assert not os.path.exists("/tmp/bodyscene-pwned")


def test_unknown_backbone_names_the_choices():
    with pytest.raises(BodySceneError, match="choose one of resnet18"):
        create_backbone("resnet19", 3)
