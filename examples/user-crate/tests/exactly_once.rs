#[test]
fn each_key_is_committed_once_through_a_crash() {
    flinch::Test::new(user_crate::DistinctKeys).run();
}
