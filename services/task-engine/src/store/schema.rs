// The tables of task-engine, the same on SQLite and MySQL (see migrations/).

diesel::table! {
    te_actions (id) {
        id -> BigInt,
        name -> Text,
        descr -> Text,
        params -> Text,
    }
}

diesel::table! {
    te_action_impls (id) {
        id -> BigInt,
        action_id -> BigInt,
        impl_type -> Text,
        template -> Text,
    }
}

diesel::table! {
    te_remote_steps (id) {
        id -> BigInt,
        name -> Text,
        descr -> Text,
        actions -> Text,
    }
}

diesel::table! {
    te_templates (id) {
        id -> BigInt,
        name -> Text,
        descr -> Text,
        steps -> Text,
    }
}

diesel::table! {
    te_flows (id) {
        id -> BigInt,
        template_id -> BigInt,
        template_name -> Text,
        task_name -> Text,
        pool_name -> Text,
        state -> Integer,
        steps -> Text,
        params -> Text,
        max_num -> BigInt,
        max_ratio -> BigInt,
        timeout_secs -> BigInt,
        auto_start -> Bool,
        batch_size -> BigInt,
        batch_count -> BigInt,
        opr_user -> Text,
        created -> BigInt,
        updated -> BigInt,
        owner -> Text,
        lease_until -> BigInt,
        notify_url -> Text,
        cluster_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    te_flow_keys (digest) {
        digest -> Text,
        fid -> BigInt,
    }
}

diesel::table! {
    te_flow_nodes (id) {
        id -> BigInt,
        fid -> BigInt,
        ip -> Text,
        vars -> Text,
        state -> Integer,
        step_index -> BigInt,
        step_states -> Text,
        batch_id -> BigInt,
        vm_id -> Text,
        created -> BigInt,
        updated -> BigInt,
    }
}

diesel::table! {
    te_flow_logs (id) {
        id -> BigInt,
        fid -> BigInt,
        batch_id -> BigInt,
        node_id -> Nullable<BigInt>,
        message -> Text,
        ctime -> BigInt,
    }
}

diesel::table! {
    te_catalog_lock (id) {
        id -> BigInt,
        bumps -> BigInt,
    }
}
