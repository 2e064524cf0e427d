// The tables of orchestrator, the same on SQLite and MySQL (see migrations/).

diesel::table! {
    oc_clusters (id) {
        id -> BigInt,
        name -> Text,
        descr -> Text,
        biz -> Text,
    }
}

diesel::table! {
    oc_services (id) {
        id -> BigInt,
        name -> Text,
        descr -> Text,
        service_type -> Text,
        docker_image -> Text,
        cluster_id -> BigInt,
    }
}

diesel::table! {
    oc_pools (id) {
        id -> BigInt,
        name -> Text,
        descr -> Text,
        vm_type -> BigInt,
        sd_id -> BigInt,
        service_id -> BigInt,
        expand_tpl -> BigInt,
        shrink_tpl -> BigInt,
        deploy_tpl -> BigInt,
    }
}

diesel::table! {
    oc_nodes (id) {
        id -> BigInt,
        pool_id -> BigInt,
        ip -> Nullable<Text>,
        vm_id -> Text,
        status -> Integer,
        node_type -> Text,
        step -> Text,
        tag -> Text,
        task_id -> BigInt,
    }
}

diesel::table! {
    oc_sd (id) {
        id -> BigInt,
        zkidc -> Text,
        service -> Text,
        port -> Integer,
    }
}

diesel::table! {
    oc_tasks (fid) {
        fid -> BigInt,
        pool_id -> BigInt,
        kind -> Text,
        state -> Text,
        tag -> Text,
        created -> BigInt,
    }
}

diesel::table! {
    oc_schedules (id) {
        id -> BigInt,
        pool_id -> BigInt,
        kind -> Text,
        exec_type -> Text,
        depend_items -> Text,
    }
}

diesel::table! {
    oc_cron_items (id) {
        id -> BigInt,
        schedule_id -> BigInt,
        pos -> Integer,
        week_day -> Integer,
        at_time -> Text,
        instance_num -> Integer,
        concurr_ratio -> Integer,
        concurr_num -> Integer,
        ignored -> Bool,
        last_fired -> BigInt,
    }
}

diesel::table! {
    oc_marks (node_id) {
        node_id -> BigInt,
        created -> Integer,
        status -> Integer,
        step -> Text,
        marked_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    oc_clusters,
    oc_services,
    oc_pools,
    oc_nodes,
    oc_sd,
    oc_tasks,
    oc_schedules,
    oc_cron_items,
    oc_marks
);
