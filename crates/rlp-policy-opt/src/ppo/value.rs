//! PPO's critic: a decoder backbone with a per-token value head, initialised from the reward
//! model (AlpacaFarm's choice) or from the policy.

use burn::module::Module;
use burn::tensor::Tensor;
use rlp_core::SeededRng;
use rlp_models::{CausalLm, ValueHead};
use rlp_reward::RewardModel;

use super::rollout::RolloutTensors;

/// `V(s_t)` for every response position.
#[derive(Module, Debug)]
pub struct ValueModel {
    /// The decoder (its LM head is unused).
    pub backbone: CausalLm,
    /// The `d → 1` head (`v_head`).
    pub head: ValueHead,
}

impl ValueModel {
    /// The policy's weights with a fresh head `N(0, 1/(d+1))`, zero bias.
    pub fn from_policy(policy: CausalLm, rng: &mut SeededRng) -> Self {
        let d = policy.config.hidden_size;
        let device = policy.device();
        Self {
            head: ValueHead::init(d, 1.0 / ((d + 1) as f64).sqrt(), rng, &device),
            backbone: policy,
        }
    }

    /// The reward model's backbone, and its score head as the value head, so that `V` starts
    /// out reading the reward model's judgement at every prefix.
    pub fn from_reward_model(rm: RewardModel) -> Self {
        Self {
            backbone: rm.backbone,
            head: ValueHead { proj: rm.head.proj },
        }
    }

    /// `V(s_t)` for each response token `t`, `[b, R]`: the head on the hidden state at position
    /// `P − 1 + t`, the prefix that token `t` is sampled from.
    pub fn values(&self, rows: &RolloutTensors) -> Tensor<2> {
        let [b, l] = rows.tokens.dims();
        let p = rows.prompt_len;
        let hidden = self
            .backbone
            .hidden_states(rows.tokens.clone(), Some(rows.attention.clone()));
        let d = hidden.dims()[2];
        self.head.forward(hidden.slice([0..b, p - 1..l - 1, 0..d]))
    }
}
